import { z } from 'zod';
import { describeIssues, issuesMessage } from '@/lib/api/errors';
import { errorResponse, failure } from '@/server/backend/http';
import { getCatalog } from '@/server/eval/catalog';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

const Query = z.object({
  q: z.string().max(200, { error: 'The search is at most 200 characters' }).default(''),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

/** GET /api/datasets/{id}/cases?q=&limit=: DatasetCasesResponse, the records matching every word of q (all when empty). */
export async function GET(request: Request, { params }: { params: Promise<{ id: string }> }): Promise<Response> {
  const search = new URL(request.url).searchParams;
  const query = Query.safeParse({ q: search.get('q') ?? undefined, limit: search.get('limit') ?? undefined });
  if (!query.success) return errorResponse(400, issuesMessage(query.error), describeIssues(query.error));
  try {
    const { id } = await params;
    return Response.json(await getCatalog().search(id, query.data.q, query.data.limit));
  } catch (err) {
    return failure(err);
  }
}
