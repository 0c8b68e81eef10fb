import { failure } from '@/server/backend/http';
import { getHub } from '@/server/backend/instance';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** GET /api/models/{id}/versions -> VersionsResponse (lib/api/jobs.ts): the edits applied, oldest first. */
export async function GET(_request: Request, { params }: { params: Promise<{ id: string }> }): Promise<Response> {
  try {
    return Response.json(getHub().versions((await params).id));
  } catch (err) {
    return failure(err);
  }
}
