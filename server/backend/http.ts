/**
 * What every JSON route handler does around its one server call: parse the body with the route's
 * zod schema (400 with the issues), run it, and turn failures into `{ error }` answers: an error
 * with a status (HubError, JobError) keeps it; anything else is a 500 whose message is the error's
 * message, never its stack.
 */
import type { z } from 'zod';
import { describeIssues, issuesMessage, type ApiError } from '../../lib/api/errors';

export function errorResponse(status: number, error: string, issues?: ApiError['issues']): Response {
  const body: ApiError = issues ? { error, issues } : { error };
  return Response.json(body, { status });
}

/** An error carrying an HTTP status (HubError, JobError) keeps it; anything else is a 500 with its message. */
export function failure(err: unknown): Response {
  const status = (err as { status?: unknown } | null)?.status;
  if (err instanceof Error && typeof status === 'number' && status >= 400 && status < 600) return errorResponse(status, err.message);
  return errorResponse(500, err instanceof Error ? err.message : String(err));
}

/** POST handler body: JSON in, `run(parsed)` out as JSON. */
export async function jsonPost<S extends z.ZodType, R>(request: Request, schema: S, run: (input: z.infer<S>) => Promise<R>, status = 200): Promise<Response> {
  let json: unknown;
  try {
    json = await request.json();
  } catch {
    return errorResponse(400, 'The request body is not valid JSON');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) return errorResponse(400, issuesMessage(parsed.error), describeIssues(parsed.error));
  try {
    return Response.json(await run(parsed.data), { status });
  } catch (err) {
    return failure(err);
  }
}
