/**
 * Scale-out (REDIS_URL set): evaluation jobs go through a BullMQ queue in Redis, and every backend
 * process takes them with a worker. A worker runs the job through its own JobQueue (./queue.ts), so
 * the per-model locks, the SQLite record and the event stream are the same as for a local job;
 * progress is mirrored into BullMQ and the result returned to it. Evaluations suit this because
 * they leave the model as they found it: any backend holding the model can run any of them.
 *
 * Exactly once: a job is completed by one worker. When a backend dies mid-job its lock in Redis
 * expires, BullMQ marks the job stalled and another worker runs it from the start; the dead one
 * never reports it done.
 */
import { Queue, QueueEvents, Worker, type Job } from 'bullmq';
import { FINISHED_STATES, type EvalJobInput, type JobState, type JobSummary } from '../../lib/api/jobs';
import type { JobQueue } from './queue';

export const EVAL_QUEUE = 'locus-evals';

export interface DistributedOptions {
  /** redis://host:port */
  url: string;
  /** Milliseconds a worker's lock on a job lasts without renewal (BullMQ lockDuration; default 30 s). */
  lockMs?: number;
  /** How often workers look for stalled jobs (default: half the lock). */
  stalledCheckMs?: number;
}

function connection(url: string) {
  const u = new URL(url);
  // BullMQ's blocking commands need retries disabled on the connection.
  return { host: u.hostname, port: Number(u.port || 6379), password: u.password || undefined, maxRetriesPerRequest: null };
}

/** What a worker returns to BullMQ: the job's result and which backend produced it. */
export interface DistributedResult {
  result: unknown;
  backend: string;
}

/** The producer side: submit evaluations and read their state from Redis (any process can). */
export class DistributedJobs {
  readonly queue: Queue;

  constructor(readonly options: DistributedOptions) {
    this.queue = new Queue(EVAL_QUEUE, { connection: connection(options.url) });
  }

  async submit(input: EvalJobInput, id: string): Promise<void> {
    // A stalled job runs again once; a failure is final (the runner's error is not transient).
    await this.queue.add('eval', { input }, { jobId: id, attempts: 1, removeOnComplete: false, removeOnFail: false });
  }

  /** The job as the studio's JobSummary, or undefined when Redis has no such job. */
  async get(id: string): Promise<JobSummary | undefined> {
    const job = await this.queue.getJob(id);
    if (!job) return undefined;
    const state = await job.getState();
    const ours: JobState = state === 'completed' ? 'done' : state === 'failed' ? 'failed' : state === 'active' ? 'running' : 'queued';
    const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : null);
    const returned = job.returnvalue as DistributedResult | null;
    return {
      id,
      kind: 'eval',
      model: (job.data as { input: EvalJobInput }).input.model,
      state: ours,
      input: (job.data as { input: EvalJobInput }).input,
      createdAt: iso(job.timestamp)!,
      startedAt: iso(job.processedOn),
      finishedAt: FINISHED_STATES.includes(ours) ? iso(job.finishedOn) : null,
      error: ours === 'failed' ? (job.failedReason ?? 'failed') : null,
      result: ours === 'done' ? (returned?.result ?? null) : null,
      events: 0,
    };
  }

  /** The job and its latest progress (what polledEventStream streams); undefined when Redis has no such job. */
  async snapshot(id: string): Promise<{ summary: JobSummary; progress: unknown } | undefined> {
    const summary = await this.get(id);
    if (!summary) return undefined;
    const job = await this.queue.getJob(id);
    return { summary, progress: job?.progress ?? null };
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

/** The worker side: takes evaluations from Redis and runs them on this process's job queue. */
export function startWorker(options: DistributedOptions, jobs: JobQueue, backend: string): Worker {
  const lockDuration = options.lockMs ?? 30_000;
  return new Worker(
    EVAL_QUEUE,
    async (job: Job) => {
      const { input } = job.data as { input: EvalJobInput };
      // A rerun after a stall gets a fresh local id: the first attempt may be recorded here too.
      const localId = job.attemptsStarted > 1 || jobs.get(job.id!) ? `${job.id}~${job.attemptsStarted}` : job.id!;
      jobs.submit(input, localId);
      const outcome = await new Promise<JobSummary>((resolve) => {
        jobs.subscribe(
          localId,
          0,
          (event) => {
            if (event.type === 'progress') void job.updateProgress(event.data as object).catch(() => {});
          },
          () => resolve(jobs.get(localId)!),
        );
      });
      if (outcome.state !== 'done') throw new Error(outcome.error ?? `the job ended ${outcome.state}`);
      const returned: DistributedResult = { result: outcome.result, backend };
      return returned;
    },
    {
      connection: connection(options.url),
      // Recorded on each job it takes (job.processedBy).
      name: backend,
      concurrency: 1,
      lockDuration,
      stalledInterval: options.stalledCheckMs ?? Math.floor(lockDuration / 2),
      maxStalledCount: 1,
    },
  );
}

export { QueueEvents };
