/**
 * The job queue: accepts jobs (a trace, an edit), persists them and their events in a JobStore,
 * runs them with the runner registered for their kind, and tells subscribers what happens.
 *
 * - States: queued -> running -> done | failed | cancelled (queued -> cancelled, too). Every change
 *   is a 'state' event ({state, error?}); runners add 'progress' events; a successful job gets a
 *   'result' event just before its final 'done' state.
 * - Events are written to the database before listeners hear of them, so a subscriber that comes
 *   back with the last seq it saw misses nothing.
 * - Scheduling: at most `concurrency` jobs run at once, oldest first. Each job holds a lock
 *   (`access(input)`: a key and read or write) while it runs: reads of a key run together, a write
 *   runs alone. Jobs of one key start in the order they were submitted (a later read does not
 *   overtake a waiting write); jobs of other keys may pass a blocked one.
 * - Restart: jobs a previous process left queued or running are marked failed ("interrupted: ...")
 *   when a queue opens the database; `rerun(id)` submits a new job with the same input.
 *
 * One queue per process (./instance.ts); tests build their own with their own runners.
 */
import { randomUUID } from 'node:crypto';
import { FINISHED_STATES, type JobEvent, type JobInput, type JobKind, type JobState, type JobSummary } from '../../lib/api/jobs';
import { JobStore, type StateChange } from './store';

type Input<K extends JobKind> = Extract<JobInput, { kind: K }>;

export interface RunnerContext {
  /** Records a progress event (written, then delivered to subscribers). */
  emit(type: 'progress', data: unknown): void;
  /** Aborted when the job is cancelled (or the queue closes); the runner should stop soon after. */
  signal: AbortSignal;
  jobId: string;
}

/** Does the job's work and returns its result (stored as JSON); a throw fails the job. */
export type JobRunner<I extends JobInput = JobInput> = (input: I, ctx: RunnerContext) => Promise<unknown>;

/** The lock a job holds while it runs. */
export interface JobAccess {
  key: string;
  mode: 'read' | 'write';
}

export interface JobKindSpec<I extends JobInput = JobInput> {
  run: JobRunner<I>;
  access(input: I): JobAccess;
  /** Optional checks of the input before it is queued (POST /api/jobs answers their errors). */
  check?(input: I): Promise<void>;
}

export type JobRunners = { [K in JobKind]: JobKindSpec<Input<K>> };

export interface JobQueueOptions {
  /** The SQLite file (./store.ts jobsDbPath), or ':memory:'. */
  path: string;
  /** Runners per kind; submitting a kind without one throws. */
  runners: Partial<JobRunners>;
  /** Jobs running at once (default 2). */
  concurrency?: number;
  /** Jobs queued or running at most; a submit beyond it is refused with 429 (default: no limit). */
  maxPending?: number;
}

export type JobListener = (event: JobEvent) => void;

/** A request about a job that cannot be served; `status` is the HTTP status it maps to. */
export class JobError extends Error {
  constructor(
    readonly status: 404 | 409 | 429,
    message: string,
  ) {
    super(message);
    this.name = 'JobError';
  }
}

export const INTERRUPTED_RUNNING = 'interrupted: the server stopped while this job was running';
export const INTERRUPTED_QUEUED = 'interrupted: the server stopped before this job started';

/** A failed job's error: the message of an error that carries an HTTP status (HubError...) as is, otherwise its first line; never a stack. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const status = (error as { status?: unknown }).status;
    if (typeof status === 'number' && error.message) return error.message;
    const line = error.message.split('\n', 1)[0]!.trim();
    return line || error.name || 'The job failed';
  }
  const line = String(error).split('\n', 1)[0]!.trim();
  return line || 'The job failed';
}

interface Subscriber {
  afterSeq: number;
  listener: JobListener;
  onEnd?: () => void;
}

/** A job this process has not finished yet. */
interface Active {
  id: string;
  input: JobInput;
  access: JobAccess;
  seq: number;
  controller: AbortController;
  running: boolean;
  subscribers: Set<Subscriber>;
}

interface Lock {
  readers: number;
  writer: boolean;
}

const now = () => new Date().toISOString();

export class JobQueue {
  readonly store: JobStore;
  readonly concurrency: number;
  private readonly runners: Partial<JobRunners>;
  private readonly active = new Map<string, Active>();
  /** Queued jobs, oldest first. */
  private readonly pending: Active[] = [];
  private readonly locks = new Map<string, Lock>();
  private runningCount = 0;
  private pumpScheduled = false;
  private closed = false;
  /** Settles when every running runner has returned (for close()). */
  private readonly runs = new Set<Promise<void>>();

  private readonly maxPending: number;

  constructor(options: JobQueueOptions) {
    this.store = new JobStore(options.path);
    this.runners = options.runners;
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 2));
    this.maxPending = options.maxPending ?? Number.POSITIVE_INFINITY;
    this.recover();
  }

  /** Jobs left unfinished by a previous process cannot continue (their runner is gone): they fail. */
  private recover(): void {
    for (const { id, state } of this.store.unfinished()) {
      const error = state === 'running' ? INTERRUPTED_RUNNING : INTERRUPTED_QUEUED;
      const at = now();
      this.store.setState(id, { state: 'failed', finishedAt: at, error }, { seq: this.store.lastSeq(id) + 1, at, type: 'state', data: { state: 'failed', error } });
    }
  }

  private spec(kind: JobKind): JobKindSpec {
    const spec = this.runners[kind] as JobKindSpec | undefined;
    if (!spec) throw new Error(`No runner for ${kind} jobs`);
    return spec;
  }

  /** Runs the kind's `check` on an input, if it has one (throws what it throws). */
  async check(input: JobInput): Promise<void> {
    await this.spec(input.kind).check?.(input);
  }

  /** Queues a job; the input must already be valid (routes parse it with the JobInput schema). */
  /** Queues a job; `id` is given by a distributed queue (./distributed.ts) whose job this runs. */
  submit(input: JobInput, id: string = randomUUID()): JobSummary {
    if (this.closed) throw new Error('The job queue is closed');
    if (this.active.size >= this.maxPending) throw new JobError(429, `${this.active.size} jobs are queued or running, the most this server takes; try again when one has finished`);
    const spec = this.spec(input.kind);
    const at = now();
    const job: Active = { id, input, access: spec.access(input), seq: 0, controller: new AbortController(), running: false, subscribers: new Set() };
    this.store.insertJob(id, input, at);
    this.active.set(id, job);
    this.transition(job, { state: 'queued' }, at);
    this.pending.push(job);
    this.schedulePump();
    return this.store.get(id)!;
  }

  /** A new job with the same input as job `id` (any state). */
  rerun(id: string): JobSummary {
    const input = this.store.input(id);
    if (!input) throw notFound(id);
    return this.submit(input);
  }

  /** The input job `id` was submitted with. */
  input(id: string): JobInput | undefined {
    return this.store.input(id);
  }

  get(id: string): JobSummary | undefined {
    return this.store.get(id);
  }

  /** Newest first; `limit` defaults to 50. */
  list(filter: { model?: string; kind?: JobKind; state?: JobState; limit?: number } = {}): JobSummary[] {
    return this.store.list({ ...filter, limit: filter.limit ?? 50 });
  }

  /** The job's persisted events after `afterSeq`; throws JobError(404) for an unknown job. */
  events(id: string, afterSeq = 0): JobEvent[] {
    if (!this.active.has(id) && !this.store.get(id)) throw notFound(id);
    return this.store.events(id, afterSeq);
  }

  /**
   * Calls `listener` with each event after `afterSeq`: first the persisted ones (synchronously,
   * before subscribe returns), then live ones as they happen. After the job's final state event
   * (at once, for a job already finished) it calls `onEnd` and stops. Throws JobError(404) for an
   * unknown job. Returns the unsubscribe function.
   */
  subscribe(id: string, afterSeq: number, listener: JobListener, onEnd?: () => void): () => void {
    const job = this.active.get(id);
    if (!job) {
      // Finished (or unknown): everything there is, is in the database.
      if (!this.store.get(id)) throw notFound(id);
      for (const event of this.store.events(id, afterSeq)) listener(event);
      onEnd?.();
      return () => {};
    }
    const sub: Subscriber = { afterSeq, listener, onEnd };
    // Replay and register in one synchronous step: no event can slip in between.
    for (const event of this.store.events(id, afterSeq)) {
      listener(event);
      sub.afterSeq = event.seq;
    }
    job.subscribers.add(sub);
    return () => {
      job.subscribers.delete(sub);
    };
  }

  /**
   * Cancels a job: a queued one at once; a running one by aborting its signal (it becomes
   * cancelled when its runner returns). A finished job is left as it is. Returns its summary.
   */
  cancel(id: string): JobSummary {
    const job = this.active.get(id);
    if (!job) {
      const summary = this.store.get(id);
      if (!summary) throw notFound(id);
      return summary;
    }
    if (!job.running) {
      this.pending.splice(this.pending.indexOf(job), 1);
      this.finish(job, { state: 'cancelled' });
      this.schedulePump();
    } else if (!job.controller.signal.aborted) {
      job.controller.abort(new Error('The job was cancelled'));
    }
    return this.store.get(id)!;
  }

  /** How many subscribers follow job `id` live (0 once it finished): for tests and diagnostics. */
  subscribers(id: string): number {
    return this.active.get(id)?.subscribers.size ?? 0;
  }

  /** Number of jobs queued and running in this process. */
  get size(): { queued: number; running: number } {
    return { queued: this.pending.length, running: this.runningCount };
  }

  /**
   * Stops the queue as if the process ended: aborts running jobs' signals, writes nothing more
   * (jobs left queued or running are marked interrupted by the next queue that opens the file),
   * waits for the runners to return, and closes the database.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of this.active.values()) {
      if (job.running) job.controller.abort(new Error('The job queue closed'));
    }
    await Promise.allSettled([...this.runs]);
    this.store.close();
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.closed) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Starts the queued jobs that may start now, oldest first. */
  private pump(): void {
    if (this.closed) return;
    const blocked = new Set<string>();
    for (let i = 0; i < this.pending.length && this.runningCount < this.concurrency; ) {
      const job = this.pending[i]!;
      const { key } = job.access;
      if (blocked.has(key) || !this.acquire(job.access)) {
        // Later jobs of this key wait behind it.
        blocked.add(key);
        i++;
        continue;
      }
      this.pending.splice(i, 1);
      this.start(job);
    }
  }

  private acquire({ key, mode }: JobAccess): boolean {
    const lock = this.locks.get(key) ?? { readers: 0, writer: false };
    if (lock.writer || (mode === 'write' && lock.readers > 0)) return false;
    if (mode === 'write') lock.writer = true;
    else lock.readers++;
    this.locks.set(key, lock);
    return true;
  }

  private release({ key, mode }: JobAccess): void {
    const lock = this.locks.get(key);
    if (!lock) return;
    if (mode === 'write') lock.writer = false;
    else lock.readers--;
    if (!lock.writer && lock.readers <= 0) this.locks.delete(key);
  }

  private start(job: Active): void {
    job.running = true;
    this.runningCount++;
    const at = now();
    this.transition(job, { state: 'running', startedAt: at }, at);
    const run = this.execute(job).finally(() => this.runs.delete(run));
    this.runs.add(run);
  }

  private async execute(job: Active): Promise<void> {
    const spec = this.spec(job.input.kind);
    const ctx: RunnerContext = {
      jobId: job.id,
      signal: job.controller.signal,
      emit: (type, data) => {
        if (type !== 'progress') throw new Error(`Runners emit progress events, not ${String(type)}`);
        if (!this.closed && this.active.has(job.id)) this.append(job, 'progress', data);
      },
    };
    let outcome: { ok: true; result: unknown } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, result: await spec.run(job.input, ctx) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    this.release(job.access);
    this.runningCount--;
    if (this.closed) return;
    try {
      if (job.controller.signal.aborted) {
        this.finish(job, { state: 'cancelled' });
      } else if (outcome.ok) {
        this.append(job, 'result', outcome.result);
        this.finish(job, { state: 'done', result: outcome.result });
      } else {
        this.finish(job, { state: 'failed', error: errorMessage(outcome.error) });
      }
    } catch (error) {
      // The database refused the write (disk full...): the job cannot be recorded; say so and go on.
      console.error(`jobs: could not record the end of job ${job.id}: ${errorMessage(error)}`);
      this.active.delete(job.id);
    }
    this.schedulePump();
  }

  /** Records a final state, tells subscribers, and forgets the job. */
  private finish(job: Active, change: StateChange): void {
    const at = now();
    this.transition(job, { ...change, finishedAt: at }, at);
    this.active.delete(job.id);
    for (const sub of job.subscribers) safely(() => sub.onEnd?.());
    job.subscribers.clear();
  }

  private transition(job: Active, change: StateChange, at: string): void {
    const data = change.error ? { state: change.state, error: change.error } : { state: change.state };
    const event: JobEvent = { seq: job.seq + 1, at, type: 'state', data };
    this.store.setState(job.id, change, event);
    job.seq = event.seq;
    this.deliver(job, event);
  }

  private append(job: Active, type: 'progress' | 'result', data: unknown): void {
    // Live listeners get what a replay would give: the data's JSON form.
    const event: JobEvent = { seq: job.seq + 1, at: now(), type, data: JSON.parse(JSON.stringify(data) ?? 'null') as unknown };
    this.store.appendEvent(job.id, event);
    job.seq = event.seq;
    this.deliver(job, event);
  }

  private deliver(job: Active, event: JobEvent): void {
    for (const sub of job.subscribers) {
      if (event.seq <= sub.afterSeq) continue;
      sub.afterSeq = event.seq;
      safely(() => sub.listener(event));
    }
  }
}

function notFound(id: string): JobError {
  return new JobError(404, `No job ${id}`);
}

/** A listener's failure must not stop the job or the other listeners. */
function safely(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    console.error(`jobs: a subscriber failed: ${errorMessage(error)}`);
  }
}

export function isFinished(state: JobState): boolean {
  return FINISHED_STATES.includes(state);
}
