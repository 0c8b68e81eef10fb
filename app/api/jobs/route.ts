import { z } from 'zod';
import { describeIssues, issuesMessage } from '@/lib/api/errors';
import { JOB_KINDS, JobInput } from '@/lib/api/jobs';
import { errorResponse, failure, jsonPost } from '@/server/backend/http';
import { randomUUID } from 'node:crypto';
import { getDistributed, getJobs } from '@/server/jobs/instance';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** POST /api/jobs: JobInput -> 201 JobSummary (lib/api/jobs.ts); the job runs in the background. */
export function POST(request: Request): Promise<Response> {
  return jsonPost(
    request,
    JobInput,
    async (input) => {
      const jobs = getJobs();
      // The kind's own checks against the model (subject in the prompt, known method...): 400 now, not a failed job later.
      await jobs.check(input);
      // With REDIS_URL, evaluations go to whichever backend takes them first.
      const distributed = getDistributed();
      if (distributed && input.kind === 'eval') {
        const id = randomUUID();
        await distributed.submit(input, id);
        return (await distributed.get(id))!;
      }
      return jobs.submit(input);
    },
    201,
  );
}

const ListQuery = z.object({
  model: z.string().min(1).optional(),
  kind: z.enum(JOB_KINDS).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

/** GET /api/jobs?model=&kind=&limit= -> { jobs: JobSummary[] }, newest first (limit 1..500, default 50). */
export function GET(request: Request): Response {
  const params = new URL(request.url).searchParams;
  const query = ListQuery.safeParse({
    model: params.get('model') || undefined,
    kind: params.get('kind') || undefined,
    limit: params.get('limit') || undefined,
  });
  if (!query.success) return errorResponse(400, issuesMessage(query.error), describeIssues(query.error));
  try {
    return Response.json({ jobs: getJobs().list(query.data) });
  } catch (err) {
    return failure(err);
  }
}
