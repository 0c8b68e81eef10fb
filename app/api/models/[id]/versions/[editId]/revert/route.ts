import { errorResponse, failure } from '@/server/backend/http';
import { getHub } from '@/server/backend/instance';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** POST /api/models/{id}/versions/{editId}/revert -> VersionsResponse: the edit taken out, the others kept. */
export async function POST(_request: Request, { params }: { params: Promise<{ id: string; editId: string }> }): Promise<Response> {
  const { id, editId } = await params;
  const n = Number(editId);
  if (!Number.isInteger(n) || n < 1) return errorResponse(400, `"${editId}" is not an edit id`);
  try {
    return Response.json(getHub().revert(id, n));
  } catch (err) {
    return failure(err);
  }
}
