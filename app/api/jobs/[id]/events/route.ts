import { failure } from '@/server/backend/http';
import { eventStream } from '@/server/jobs/http';
import { getJobs } from '@/server/jobs/instance';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/**
 * GET /api/jobs/{id}/events: the job's events as Server-Sent Events (`id: <seq>`, `event: <type>`,
 * `data: <JobEvent JSON>`), from after Last-Event-ID or `?after=` (default 0), live until the job
 * finishes, then the stream ends; a heartbeat comment every 15 s. 204 when a finished job has no
 * events after that point (an EventSource stops reconnecting), 404 for an unknown job.
 */
export async function GET(request: Request, { params }: { params: Promise<{ id: string }> }): Promise<Response> {
  try {
    return eventStream(getJobs(), (await params).id, request);
  } catch (err) {
    return failure(err);
  }
}
