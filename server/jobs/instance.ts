import { RUNNERS } from '../backend/runners';
import { DistributedJobs, type DistributedOptions } from './distributed';
import { JobQueue } from './queue';
import { jobsDbPath } from './store';

/**
 * The server's one job queue, on globalThis under a registered Symbol (like the model hub in
 * server/backend/instance.ts): `next dev` re-evaluates modules on every change and `next build`
 * bundles route handlers into separate chunks, and all of them must share one queue, one set of
 * locks and one database handle. The database is $LOCUS_DATA_DIR/jobs.sqlite (default
 * `.locus/jobs.sqlite` in the working directory); LOCUS_JOB_CONCURRENCY sets how many jobs run at
 * once (default 2), LOCUS_MAX_PENDING_JOBS how many may be queued or running (default 64; more: 429).
 */
const JOBS_KEY = Symbol.for('locus.jobs');

type WithJobs = typeof globalThis & { [JOBS_KEY]?: JobQueue };

export function getJobs(): JobQueue {
  const g = globalThis as WithJobs;
  g[JOBS_KEY] ??= new JobQueue({
    path: jobsDbPath(),
    runners: RUNNERS,
    concurrency: Number(process.env.LOCUS_JOB_CONCURRENCY) || 2,
    maxPending: Number(process.env.LOCUS_MAX_PENDING_JOBS) || 64,
  });
  return g[JOBS_KEY];
}

/** Tests only: makes `getJobs()` return `queue` (or build the real one again, for undefined). */
export function setJobsForTesting(queue: JobQueue | undefined): void {
  (globalThis as WithJobs)[JOBS_KEY] = queue;
}

const DISTRIBUTED_KEY = Symbol.for('locus.distributedJobs');
type WithDistributed = typeof globalThis & { [DISTRIBUTED_KEY]?: DistributedJobs | null };

/** With REDIS_URL set, the queue evaluations go through to reach every backend (./distributed.ts); else null. */
export function getDistributed(): DistributedJobs | null {
  const g = globalThis as WithDistributed;
  if (g[DISTRIBUTED_KEY] === undefined) {
    const url = process.env.REDIS_URL;
    g[DISTRIBUTED_KEY] = url ? new DistributedJobs(redisOptions(url)) : null;
  }
  return g[DISTRIBUTED_KEY];
}

/** REDIS_URL, with LOCUS_REDIS_LOCK_MS for how long a dead backend holds a job (default 30 s). */
export function redisOptions(url: string): DistributedOptions {
  return { url, lockMs: Number(process.env.LOCUS_REDIS_LOCK_MS) || undefined };
}
