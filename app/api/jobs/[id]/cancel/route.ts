import { failure } from '@/server/backend/http';
import { getJobs } from '@/server/jobs/instance';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/**
 * POST /api/jobs/{id}/cancel -> JobSummary: a queued job is cancelled at once; a running one is
 * asked to stop and becomes cancelled when its runner returns (watch its events); a finished one
 * is left as it is. 404 for an unknown job.
 */
export async function POST(_request: Request, { params }: { params: Promise<{ id: string }> }): Promise<Response> {
  try {
    return Response.json(getJobs().cancel((await params).id));
  } catch (err) {
    return failure(err);
  }
}
