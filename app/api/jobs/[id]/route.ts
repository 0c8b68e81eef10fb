import { errorResponse } from '@/server/backend/http';
import { failure } from '@/server/backend/http';
import { getDistributed, getJobs } from '@/server/jobs/instance';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** GET /api/jobs/{id} -> JobSummary (lib/api/jobs.ts); 404 for an unknown job. A job of this process first, then one in Redis (REDIS_URL). */
export async function GET(_request: Request, { params }: { params: Promise<{ id: string }> }): Promise<Response> {
  const { id } = await params;
  try {
    const job = getJobs().get(id) ?? (await getDistributed()?.get(id));
    return job ? Response.json(job) : errorResponse(404, `No job ${id}`);
  } catch (err) {
    return failure(err);
  }
}
