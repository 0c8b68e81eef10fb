import { failure } from '@/server/backend/http';
import { getJobs } from '@/server/jobs/instance';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** POST /api/jobs/{id}/rerun -> 201 JobSummary of a new job with the same input (e.g. after "interrupted"); 404 for an unknown job. */
export async function POST(_request: Request, { params }: { params: Promise<{ id: string }> }): Promise<Response> {
  try {
    const jobs = getJobs();
    const { id } = await params;
    const input = jobs.input(id);
    // The model or method may have changed since: the same checks as a new job.
    if (input) await jobs.check(input);
    return Response.json(jobs.rerun(id), { status: 201 });
  } catch (err) {
    return failure(err);
  }
}
