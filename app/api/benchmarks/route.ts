import { failure } from '@/server/backend/http';
import { committedResults, committedTraining, jobResults, jobTraining } from '@/server/eval/results';
import { getJobs } from '@/server/jobs/instance';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** GET /api/benchmarks: BenchmarksResponse (lib/api/benchmarks.ts): this studio's finished evaluations and trainings, then the committed ones. */
export function GET(): Response {
  try {
    const evals = getJobs().list({ kind: 'eval', state: 'done', limit: 500 });
    const trains = getJobs().list({ kind: 'train', state: 'done', limit: 100 });
    return Response.json({ results: [...jobResults(evals), ...committedResults()], training: [...jobTraining(trains), ...committedTraining()] });
  } catch (err) {
    return failure(err);
  }
}
