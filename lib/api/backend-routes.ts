/**
 * Which /api paths a standalone backend answers when the app is started with LOCUS_BACKEND_URL
 * (proxy.ts forwards them): everything that computes with a model. The app keeps its health check
 * and the review queue's storage (the annotators' data); the review queue's model check goes to the
 * backend, where the models are.
 */
export function servedByBackend(pathname: string): boolean {
  if (!pathname.startsWith('/api/') || pathname === '/api/health') return false;
  if (pathname.startsWith('/api/review/')) return pathname === '/api/review/check';
  return true;
}
