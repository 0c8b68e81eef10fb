import type { z } from 'zod';
import { ApiError } from './errors';

/** An /api/** answer that was not 2xx, with the server's message. */
export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly issues?: ApiError['issues'],
  ) {
    super(message);
    this.name = 'ApiRequestError';
  }
}

/**
 * Fetches an /api/** route and parses the answer with its schema; a non-2xx answer becomes an
 * ApiRequestError carrying the server's message (or the status line when the body has none).
 */
export async function callApi<S extends z.ZodType>(url: string, schema: S, body?: unknown, init: RequestInit = {}): Promise<z.infer<S>> {
  const res = await fetch(url, {
    ...init,
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? undefined : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json: unknown = await res.json().catch(() => undefined);
  if (!res.ok) {
    const parsed = ApiError.safeParse(json);
    const message = parsed.success ? parsed.data.error : `${res.status} ${res.statusText}`;
    throw new ApiRequestError(res.status, message, parsed.success ? parsed.data.issues : undefined);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new Error(`${url}: the server's answer does not match its schema`);
  return parsed.data;
}
