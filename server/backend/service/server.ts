/**
 * The standalone backend: a node:http server in front of the app's route handlers (./routes.ts),
 * with what a service on a shared GPU machine needs and the in-process studio does not: a bearer
 * token on every request, a cap on request bodies, and plain JSON errors for everything refused.
 * Server-Sent Events stream through as the handlers write them.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { matchRoute } from './routes';

export interface ServiceOptions {
  /** Every request must carry `Authorization: Bearer <token>`. */
  token: string;
  /** Largest request body in bytes (default 1 MiB); larger ones get 413. */
  maxBodyBytes?: number;
}

function sendError(res: ServerResponse, status: number, error: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ error }));
}

function authorized(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer (.+)$/.exec(header ?? '')?.[1] ?? '');
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

class TooLarge extends Error {}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > max) throw new TooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw new TooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function handle(req: IncomingMessage, res: ServerResponse, options: Required<ServiceOptions>): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://backend');
  const method = req.method ?? 'GET';
  if (url.pathname === '/' && method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ service: 'locus-backend', ok: true }));
    return;
  }
  if (!authorized(req.headers.authorization, options.token)) {
    return sendError(res, 401, 'Missing or wrong bearer token: send Authorization: Bearer <LOCUS_BACKEND_TOKEN>', { 'www-authenticate': 'Bearer' });
  }
  const match = matchRoute(method, url.pathname);
  if ('status' in match) {
    if (match.status === 405) return sendError(res, 405, `${method} is not allowed on ${url.pathname}`, { allow: match.allow ?? '' });
    return sendError(res, 404, `No route ${url.pathname}`);
  }
  let body: Buffer | undefined;
  if (method === 'POST') {
    try {
      body = await readBody(req, options.maxBodyBytes);
    } catch (error) {
      if (error instanceof TooLarge) return sendError(res, 413, `The request body is larger than ${options.maxBodyBytes} bytes`);
      throw error;
    }
  }
  const controller = new AbortController();
  res.on('close', () => controller.abort());
  const headers = new Headers();
  for (const [key, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(key, value);
  const request = new Request(url, { method, headers, body: body ? new Uint8Array(body) : undefined, signal: controller.signal });
  const response = await match.handler(request, { params: Promise.resolve(match.params) });
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (!response.body || method === 'HEAD') return void res.end();
  // SSE: each chunk goes out as the handler enqueues it.
  res.flushHeaders();
  Readable.fromWeb(response.body as import('node:stream/web').ReadableStream).on('error', () => res.destroy()).pipe(res);
}

export function createService(options: ServiceOptions): Server {
  if (!options.token) throw new Error('The backend needs a token (LOCUS_BACKEND_TOKEN): it refuses to run open');
  const resolved = { maxBodyBytes: 1 << 20, ...options };
  return createServer((req, res) => {
    handle(req, res, resolved).catch((error: unknown) => {
      if (res.headersSent) res.destroy();
      else sendError(res, 500, error instanceof Error ? error.message.split('\n')[0]! : String(error));
    });
  });
}
