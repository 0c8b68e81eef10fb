import { failure } from '@/server/backend/http';
import { listSources } from '@/server/review/sources';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** GET /api/review/sources: the shared portability files present on this machine (SourcesResponse). */
export function GET(): Response {
  try {
    return Response.json({ sources: listSources() });
  } catch (err) {
    return failure(err);
  }
}
