/**
 * Test helpers for the job system: inputs, and runners whose jobs finish when the test says so.
 * Imported by the *.test.ts files only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { JobInput, type JobEvent } from '../../lib/api/jobs';
import type { JobKindSpec, JobQueue, JobRunner, JobRunners, RunnerContext } from './queue';

export function traceInput(model: string, label: string): JobInput {
  return JobInput.parse({ kind: 'trace', model, request: { prompt: `${label} x`, subject: 'x', target: ' y' } });
}

export function editInput(model: string, label: string): JobInput {
  return JobInput.parse({ kind: 'edit', model, method: 'rome', request: { prompt: `${label} {}`, subject: 'x', targetNew: ' y' } });
}

/** The label a test input was made with. */
export function labelOf(input: JobInput): string {
  if (!('request' in input)) throw new Error(`labelOf: ${input.kind} inputs carry no label`);
  return input.request.prompt.split(' ')[0]!;
}

interface Deferred {
  promise: Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

function deferred(): Deferred {
  let resolve!: (value: unknown) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<unknown>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Runners for both kinds (traces read `model:<id>`, edits write it) whose jobs wait until the test
 * calls `finish(label, result)` or `fail(label, error)`. Each emits one progress event when it
 * starts; `emit(label, data)` adds more. Abort makes the runner throw.
 */
export class ControlledRunners {
  readonly started: string[] = [];
  readonly aborted: string[] = [];
  readonly running = new Set<string>();
  /** At each start: the labels running at that moment (the new one included), sorted. */
  readonly overlaps: string[][] = [];
  private readonly gates = new Map<string, Deferred>();
  private readonly contexts = new Map<string, RunnerContext>();

  private gate(label: string): Deferred {
    let gate = this.gates.get(label);
    if (!gate) this.gates.set(label, (gate = deferred()));
    return gate;
  }

  readonly run: JobRunner = async (input, ctx) => {
    const label = labelOf(input);
    this.started.push(label);
    this.running.add(label);
    this.overlaps.push([...this.running].sort());
    this.contexts.set(label, ctx);
    const gate = this.gate(label);
    ctx.signal.addEventListener('abort', () => {
      this.aborted.push(label);
      gate.reject(new Error('aborted'));
    });
    try {
      ctx.emit('progress', { label, step: 0 });
      return await gate.promise;
    } finally {
      this.running.delete(label);
    }
  };

  finish(label: string, result: unknown = { label }): void {
    this.gate(label).resolve(result);
  }

  fail(label: string, error: unknown): void {
    this.gate(label).reject(error);
  }

  emit(label: string, data: unknown): void {
    this.contexts.get(label)!.emit('progress', data);
  }

  get runners(): JobRunners {
    const spec = (mode: 'read' | 'write'): JobKindSpec => ({ run: this.run, access: (input) => ({ key: `model:${input.model}`, mode }) });
    return { trace: spec('read'), edit: spec('write') } as JobRunners;
  }
}

/** Lets queued microtasks and started runners settle. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Resolves with the job's events once it has finished. */
export function finished(queue: JobQueue, id: string): Promise<JobEvent[]> {
  return new Promise((resolve) => {
    const events: JobEvent[] = [];
    queue.subscribe(id, 0, (e) => events.push(e), () => resolve(events));
  });
}

/** A fresh temporary directory and its cleanup. */
export function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'locus-jobs-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
