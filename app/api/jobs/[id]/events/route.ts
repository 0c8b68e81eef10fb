import { failure } from '@/server/backend/http';
import { eventStream, polledEventStream } from '@/server/jobs/http';
import { getDistributed, getJobs } from '@/server/jobs/instance';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/**
 * GET /api/jobs/{id}/events: the job's events as Server-Sent Events (`id: <seq>`, `event: <type>`,
 * `data: <JobEvent JSON>`), from after Last-Event-ID or `?after=` (default 0), live until the job
 * finishes, then the stream ends; a heartbeat comment every 15 s. 204 when a finished job has no
 * events after that point (an EventSource stops reconnecting), 404 for an unknown job. A distributed
 * evaluation run by another backend (REDIS_URL) streams its state, latest progress and result from Redis.
 */
export async function GET(request: Request, { params }: { params: Promise<{ id: string }> }): Promise<Response> {
  try {
    const { id } = await params;
    const jobs = getJobs();
    const distributed = getDistributed();
    if (!jobs.get(id) && distributed && (await distributed.get(id))) return polledEventStream(() => distributed.snapshot(id), request);
    return eventStream(jobs, id, request);
  } catch (err) {
    return failure(err);
  }
}
