import type { Health } from '@/lib/health';

// Evaluate per request: the answer reports the running server, not the build machine.
export const dynamic = 'force-dynamic';

export function GET(): Response {
  const body: Health = { status: 'ok', node: process.version };
  return Response.json(body);
}
