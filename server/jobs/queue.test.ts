import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobEvent } from '../../lib/api/jobs';
import { INTERRUPTED_QUEUED, INTERRUPTED_RUNNING, JobError, JobQueue, errorMessage } from './queue';
import { ControlledRunners, editInput, finished, settle, tempDir, traceInput } from './testing';

const states = (events: JobEvent[]) => events.filter((e) => e.type === 'state').map((e) => (e.data as { state: string }).state);
const shape = (events: JobEvent[]) => events.map((e) => (e.type === 'state' ? `state:${(e.data as { state: string }).state}` : e.type));

let tmp: ReturnType<typeof tempDir>;
let queues: JobQueue[];
let runners: ControlledRunners;

function open(concurrency = 2, maxPending?: number): JobQueue {
  const queue = new JobQueue({ path: path.join(tmp.dir, 'jobs.sqlite'), runners: runners.runners, concurrency, maxPending });
  queues.push(queue);
  return queue;
}

beforeEach(() => {
  tmp = tempDir();
  queues = [];
  runners = new ControlledRunners();
});

afterEach(async () => {
  for (const queue of queues) await queue.close();
  tmp.remove();
});

describe('JobQueue', () => {
  it('runs a job: queued, running, progress, result, done, all persisted in order', async () => {
    const queue = open();
    const job = queue.submit(traceInput('m', 'a'));
    expect(job).toMatchObject({ kind: 'trace', model: 'm', state: 'queued', startedAt: null, finishedAt: null, error: null, result: null, events: 1 });
    expect(job.input).toEqual(traceInput('m', 'a'));

    await settle();
    expect(queue.get(job.id)).toMatchObject({ state: 'running', events: 3 });
    expect(queue.get(job.id)!.startedAt).not.toBeNull();
    runners.emit('a', { step: 1 });
    runners.finish('a', { answer: 42 });
    const events = await finished(queue, job.id);

    expect(shape(events)).toEqual(['state:queued', 'state:running', 'progress', 'progress', 'result', 'state:done']);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(events[3]!.data).toEqual({ step: 1 });
    expect(events[4]!.data).toEqual({ answer: 42 });
    expect(events[5]!.data).toEqual({ state: 'done' });
    expect(queue.events(job.id)).toEqual(events);
    expect(queue.events(job.id, 4).map((e) => e.seq)).toEqual([5, 6]);
    const done = queue.get(job.id)!;
    expect(done).toMatchObject({ state: 'done', result: { answer: 42 }, error: null, events: 6 });
    expect(Date.parse(done.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(done.startedAt!));
  });

  it('fails a job whose runner throws, with its message and no stack', async () => {
    const queue = open();
    const plain = queue.submit(traceInput('m', 'a'));
    const withStatus = queue.submit(traceInput('m', 'b'));
    await settle();
    const error = new Error('Out of memory');
    error.stack = 'Error: Out of memory\n    at run (runner.ts:1:1)';
    runners.fail('a', error);
    // An error with an HTTP status (HubError...) keeps its message whole.
    runners.fail('b', Object.assign(new Error('The subject "x" is not in the prompt'), { status: 400 }));
    const events = await finished(queue, plain.id);
    await finished(queue, withStatus.id);

    expect(shape(events)).toEqual(['state:queued', 'state:running', 'progress', 'state:failed']);
    expect(events.at(-1)!.data).toEqual({ state: 'failed', error: 'Out of memory' });
    expect(queue.get(plain.id)).toMatchObject({ state: 'failed', error: 'Out of memory', result: null });
    expect(queue.get(withStatus.id)).toMatchObject({ state: 'failed', error: 'The subject "x" is not in the prompt' });
    expect(errorMessage(new Error('first line\n    at somewhere'))).toBe('first line');
    expect(errorMessage('a string')).toBe('a string');
  });

  it('cancels a queued job at once and a running one through its signal', async () => {
    const queue = open(1);
    const running = queue.submit(traceInput('m', 'a'));
    const queued = queue.submit(traceInput('m', 'b'));
    await settle();
    expect(queue.get(queued.id)!.state).toBe('queued');

    expect(queue.cancel(queued.id).state).toBe('cancelled');
    expect(shape(queue.events(queued.id))).toEqual(['state:queued', 'state:cancelled']);

    // Running: the runner is asked to stop; the job is cancelled once it returns.
    expect(queue.cancel(running.id).state).toBe('running');
    expect(runners.aborted).toEqual(['a']);
    const events = await finished(queue, running.id);
    expect(shape(events)).toEqual(['state:queued', 'state:running', 'progress', 'state:cancelled']);
    expect(queue.get(running.id)).toMatchObject({ state: 'cancelled', error: null, result: null });
    expect(runners.started).toEqual(['a']);
    // Cancelling a finished job changes nothing; an unknown one is a 404.
    expect(queue.cancel(running.id).state).toBe('cancelled');
    expect(() => queue.cancel('nope')).toThrow(JobError);
  });

  it('marks a job cancelled even when its runner ignores the signal and returns a result', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let sawAbort = false;
    const queue = new JobQueue({
      path: path.join(tmp.dir, 'stubborn.sqlite'),
      runners: {
        trace: {
          access: () => ({ key: 'model:m', mode: 'read' }),
          run: async (_input, ctx) => {
            await gate;
            sawAbort = ctx.signal.aborted;
            return { late: true };
          },
        },
      },
    });
    queues.push(queue);
    const job = queue.submit(traceInput('m', 'a'));
    await settle();
    queue.cancel(job.id);
    release();
    expect(states(await finished(queue, job.id))).toEqual(['queued', 'running', 'cancelled']);
    expect(sawAbort).toBe(true);
    expect(queue.get(job.id)!.result).toBeNull();
    // This queue has no edit runner.
    expect(() => queue.submit(editInput('m', 'e'))).toThrow('No runner for edit jobs');
  });

  it('replays persisted events after a seq to a subscriber that joins mid-run, then follows live', async () => {
    const queue = open();
    const job = queue.submit(traceInput('m', 'a'));
    const all = finished(queue, job.id);
    await settle();
    runners.emit('a', { step: 1 });

    const seen: JobEvent[] = [];
    let ended = false;
    queue.subscribe(job.id, 2, (e) => seen.push(e), () => (ended = true));
    // The replay is synchronous: seq 3 (first progress) and 4 (step 1).
    expect(seen.map((e) => e.seq)).toEqual([3, 4]);
    expect(queue.subscribers(job.id)).toBe(2);

    runners.emit('a', { step: 2 });
    expect(seen.map((e) => e.seq)).toEqual([3, 4, 5]);
    runners.finish('a');
    await all;
    expect(shape(seen)).toEqual(['progress', 'progress', 'progress', 'result', 'state:done']);
    expect(seen.map((e) => e.seq)).toEqual([3, 4, 5, 6, 7]);
    expect(ended).toBe(true);
    expect(queue.subscribers(job.id)).toBe(0);

    // A finished job: replay, then the end, at once.
    const late: JobEvent[] = [];
    let lateEnded = false;
    queue.subscribe(job.id, 5, (e) => late.push(e), () => (lateEnded = true));
    expect(late.map((e) => e.seq)).toEqual([6, 7]);
    expect(lateEnded).toBe(true);
    expect(() => queue.subscribe('nope', 0, () => {})).toThrow(JobError);
  });

  it('unsubscribing stops live events', async () => {
    const queue = open();
    const job = queue.submit(traceInput('m', 'a'));
    await settle();
    const seen: number[] = [];
    const unsubscribe = queue.subscribe(job.id, 0, (e) => seen.push(e.seq));
    unsubscribe();
    runners.emit('a', { step: 1 });
    expect(seen).toEqual([1, 2, 3]);
    expect(queue.subscribers(job.id)).toBe(0);
    runners.finish('a');
  });

  it('serialises writes to one model, lets reads of another model overlap, and keeps per-model order', async () => {
    const queue = open(4);
    const e1 = queue.submit(editInput('a', 'e1'));
    const e2 = queue.submit(editInput('a', 'e2'));
    queue.submit(traceInput('b', 'r1'));
    queue.submit(traceInput('b', 'r2'));
    // A read of model a waits behind the write e2, which waits for e1.
    queue.submit(traceInput('a', 'r3'));
    await settle();
    expect(runners.started).toEqual(['e1', 'r1', 'r2']);
    expect([...runners.running].sort()).toEqual(['e1', 'r1', 'r2']);

    runners.finish('e1');
    await finished(queue, e1.id);
    await settle();
    expect(runners.started).toEqual(['e1', 'r1', 'r2', 'e2']);
    expect(runners.running.has('r3')).toBe(false);

    runners.finish('e2');
    await finished(queue, e2.id);
    await settle();
    expect(runners.started.at(-1)).toBe('r3');
    // r3 never ran beside a write of model a.
    for (const together of runners.overlaps) expect(together.includes('r3') && (together.includes('e1') || together.includes('e2'))).toBe(false);
    for (const label of ['r1', 'r2', 'r3']) runners.finish(label);
  });

  it('runs reads of one model together, a write of it only when they are done, and no later read before that write', async () => {
    const queue = open(4);
    const r1 = queue.submit(traceInput('a', 'r1'));
    const r2 = queue.submit(traceInput('a', 'r2'));
    const w = queue.submit(editInput('a', 'w'));
    // Could share the lock with r1 and r2, but must not overtake the waiting write.
    const r3 = queue.submit(traceInput('a', 'r3'));
    await settle();
    expect([...runners.running].sort()).toEqual(['r1', 'r2']);
    runners.finish('r1');
    await finished(queue, r1.id);
    await settle();
    expect([...runners.running]).toEqual(['r2']);
    runners.finish('r2');
    await finished(queue, r2.id);
    await settle();
    expect([...runners.running]).toEqual(['w']);
    runners.finish('w');
    expect(states(await finished(queue, w.id)).at(-1)).toBe('done');
    await settle();
    expect(runners.started).toEqual(['r1', 'r2', 'w', 'r3']);
    runners.finish('r3');
    await finished(queue, r3.id);
  });

  it('runs at most `concurrency` jobs at once', async () => {
    const queue = open(2);
    queue.submit(traceInput('a', 'x1'));
    queue.submit(traceInput('b', 'x2'));
    const third = queue.submit(traceInput('c', 'x3'));
    await settle();
    expect(runners.started).toEqual(['x1', 'x2']);
    expect(queue.size).toEqual({ queued: 1, running: 2 });
    runners.finish('x2');
    await settle();
    await settle();
    expect(runners.started).toEqual(['x1', 'x2', 'x3']);
    runners.finish('x1');
    runners.finish('x3');
    expect(states(await finished(queue, third.id)).at(-1)).toBe('done');
  });

  it('refuses a job beyond `maxPending` queued or running ones with 429, and takes one again when a job ends', async () => {
    const queue = open(1, 2);
    queue.submit(traceInput('a', 'y1'));
    queue.submit(traceInput('a', 'y2'));
    const refused = (() => {
      try {
        queue.submit(traceInput('a', 'y3'));
      } catch (error) {
        return error;
      }
    })();
    expect(refused).toBeInstanceOf(JobError);
    expect((refused as JobError).status).toBe(429);
    expect((refused as JobError).message).toMatch(/^2 jobs are queued or running/);
    await settle();
    runners.finish('y1');
    await settle();
    expect(queue.submit(traceInput('a', 'y4')).state).toBe('queued');
    runners.finish('y2');
    runners.finish('y4');
  });

  it('lists jobs newest first, filtered by model and kind', async () => {
    const queue = open(1);
    const a = queue.submit(traceInput('a', 't1'));
    const b = queue.submit(editInput('a', 'e1'));
    const c = queue.submit(traceInput('b', 't2'));
    expect(queue.list().map((j) => j.id)).toEqual([c.id, b.id, a.id]);
    expect(queue.list({ model: 'a' }).map((j) => j.id)).toEqual([b.id, a.id]);
    expect(queue.list({ kind: 'trace' }).map((j) => j.id)).toEqual([c.id, a.id]);
    expect(queue.list({ limit: 1 }).map((j) => j.id)).toEqual([c.id]);
    for (const job of [a, b, c]) queue.cancel(job.id);
  });

  it('after a restart, marks the jobs a previous process left running or queued as interrupted; rerun runs them again', async () => {
    const first = open(1);
    const running = first.submit(editInput('m', 'a'));
    const queued = first.submit(editInput('m', 'b'));
    await settle();
    expect(first.get(running.id)!.state).toBe('running');
    await first.close();

    runners = new ControlledRunners();
    const second = open(1);
    expect(second.get(running.id)).toMatchObject({ state: 'failed', error: INTERRUPTED_RUNNING });
    expect(second.get(queued.id)).toMatchObject({ state: 'failed', error: INTERRUPTED_QUEUED });
    expect(INTERRUPTED_RUNNING).toBe('interrupted: the server stopped while this job was running');
    const events = second.events(running.id);
    expect(shape(events)).toEqual(['state:queued', 'state:running', 'progress', 'state:failed']);
    expect(events.at(-1)!.data).toEqual({ state: 'failed', error: INTERRUPTED_RUNNING });

    const again = second.rerun(running.id);
    expect(again.id).not.toBe(running.id);
    expect(again.input).toEqual(running.input);
    await settle();
    runners.finish('a', { ok: true });
    expect(states(await finished(second, again.id))).toEqual(['queued', 'running', 'done']);
    expect(second.get(again.id)!.result).toEqual({ ok: true });
    expect(() => second.rerun('nope')).toThrow(JobError);
  });
});
