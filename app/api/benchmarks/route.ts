import { failure } from '@/server/backend/http';
import { committedResults, jobResults } from '@/server/eval/results';
import { getJobs } from '@/server/jobs/instance';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** GET /api/benchmarks: BenchmarksResponse (lib/api/benchmarks.ts): this studio's finished evaluations, then the committed reports. */
export function GET(): Response {
  try {
    const jobs = getJobs().list({ kind: 'eval', state: 'done', limit: 500 });
    return Response.json({ results: [...jobResults(jobs), ...committedResults()] });
  } catch (err) {
    return failure(err);
  }
}
