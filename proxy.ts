import { NextResponse, type NextRequest } from 'next/server';
import { servedByBackend } from './lib/api/backend-routes';

/**
 * With LOCUS_BACKEND_URL set, the app is a front end: model work goes to that backend (`npm run
 * backend`, e.g. on the GPU machine) with the bearer token LOCUS_BACKEND_TOKEN added here, so the
 * browser never sees it. Without it, the route handlers in app/api run the embedded backend in this
 * process (the default).
 */
export function proxy(request: NextRequest): NextResponse {
  const backend = process.env.LOCUS_BACKEND_URL;
  const { pathname, search } = request.nextUrl;
  if (!backend || !servedByBackend(pathname)) return NextResponse.next();
  const headers = new Headers(request.headers);
  headers.set('authorization', `Bearer ${process.env.LOCUS_BACKEND_TOKEN ?? ''}`);
  return NextResponse.rewrite(new URL(`${pathname}${search}`, backend), { request: { headers } });
}

export const config = { matcher: '/api/:path*' };
