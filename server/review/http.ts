import type { z } from 'zod';
import { describeIssues, issuesMessage } from '../../lib/api/errors';
import { errorResponse, failure } from '../backend/http';

/** GET handler body: the query string parsed with `schema` (400 with the issues), `run(parsed)` out as JSON. */
export async function jsonGet<S extends z.ZodType>(request: Request, schema: S, run: (query: z.infer<S>) => unknown): Promise<Response> {
  const params = Object.fromEntries(new URL(request.url).searchParams);
  const parsed = schema.safeParse(params);
  if (!parsed.success) return errorResponse(400, issuesMessage(parsed.error), describeIssues(parsed.error));
  try {
    const result = await run(parsed.data);
    return result instanceof Response ? result : Response.json(result);
  } catch (err) {
    return failure(err);
  }
}
