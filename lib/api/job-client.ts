/**
 * The browser's side of the jobs contract (./jobs.ts): start a job, cancel it, and follow its
 * events over Server-Sent Events. Also the model-version calls an edit is followed by.
 *
 * followJob opens an EventSource on GET /api/jobs/{id}/events. The server names each message by its
 * type (`event: state|progress|result`) and numbers it (`id: <seq>`); when a connection drops, the
 * browser reconnects by itself with Last-Event-ID, and the server replays from there. Replays may
 * overlap what was already delivered, so every seq at or below the last one seen is dropped here.
 */
import type { z } from 'zod';
import { callApi } from './client';
import { FINISHED_STATES, JobEvent, JobState, JobSummary, VersionsResponse, type JobInput } from './jobs';

/** What POST /api/jobs accepts: the schema's input, defaults (hparams, probes) optional. */
export type JobStart = z.input<typeof JobInput>;

export function startJob(input: JobStart): Promise<JobSummary> {
  return callApi('/api/jobs', JobSummary, input);
}

/** Asks a job to stop; a running job becomes 'cancelled' when its runner returns (watch its events). */
export function cancelJob(id: string): Promise<JobSummary> {
  return callApi(`/api/jobs/${encodeURIComponent(id)}/cancel`, JobSummary, {});
}

export function getJob(id: string): Promise<JobSummary> {
  return callApi(`/api/jobs/${encodeURIComponent(id)}`, JobSummary);
}

export function getVersions(model: string): Promise<VersionsResponse> {
  return callApi(`/api/models/${encodeURIComponent(model)}/versions`, VersionsResponse);
}

/** Takes edit `editId` out of the model (409 while an edit runs on it); answers the versions left. */
export function revertEdit(model: string, editId: number): Promise<VersionsResponse> {
  return callApi(`/api/models/${encodeURIComponent(model)}/versions/${editId}/revert`, VersionsResponse, {});
}

export interface JobHandlers {
  /** Every state change, in order; `error` is the failed job's reason. */
  onState?(state: JobState, error: string | null): void;
  /** A progress event's data (a trace event, an editor's progress). */
  onProgress?(data: unknown, seq: number): void;
  /** The job's result, just before its final 'done' state. */
  onResult?(data: unknown): void;
  /** The events can no longer be followed (the job is unknown, or the server cannot be reached). */
  onError?(error: Error): void;
}

/** The parts of the browser's EventSource that followJob uses (tests pass a fake). */
export interface EventSourceLike {
  readonly readyState: number;
  addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void;
  close(): void;
  onerror: ((event: Event) => void) | null;
}

export interface FollowOptions {
  /** Deliver only events after this seq (default 0: the whole history). */
  after?: number;
  createEventSource?: (url: string) => EventSourceLike;
  /** Fetches the job when its stream closes before its final state (default getJob). */
  fetchJob?: (id: string) => Promise<JobSummary>;
  /** How often a closed stream is opened again while the job still runs (default 3). */
  reopenAttempts?: number;
}

/** EventSource.CLOSED: the browser has given up on the stream (a 204, 404 or non-SSE answer). */
const CLOSED = 2;
const TYPES = ['state', 'progress', 'result'] as const;

/**
 * Follows job `id` from seq `after` until its final state, calling the handlers once per event, in
 * order. Returns a function that stops following (the job itself keeps running).
 */
export function followJob(id: string, handlers: JobHandlers, options: FollowOptions = {}): () => void {
  const createEventSource = options.createEventSource ?? ((url: string) => new EventSource(url));
  const fetchJob = options.fetchJob ?? getJob;
  let reopensLeft = options.reopenAttempts ?? 3;
  let lastSeq = options.after ?? 0;
  let finished = false;
  let stopped = false;
  let resultSeen = false;
  let source: EventSourceLike | null = null;

  const stop = () => {
    stopped = true;
    source?.close();
    source = null;
  };

  function deliver(type: JobEvent['type'], message: MessageEvent<string>) {
    if (stopped) return;
    const event = parseEvent(type, message);
    if (!event) return handlers.onError?.(new Error(`The server sent a ${type} event that could not be read`));
    if (event.seq <= lastSeq) return; // a replay after a reconnect
    lastSeq = event.seq;
    if (event.type === 'progress') handlers.onProgress?.(event.data, event.seq);
    else if (event.type === 'result') {
      resultSeen = true;
      handlers.onResult?.(event.data);
    } else {
      const data = (event.data ?? {}) as { state?: unknown; error?: unknown };
      const state = JobState.safeParse(data.state);
      if (!state.success) return handlers.onError?.(new Error('The server sent a state event without a state'));
      if (FINISHED_STATES.includes(state.data)) {
        finished = true;
        // The server ends the stream after this; without close() the browser would reconnect.
        stop();
      }
      handlers.onState?.(state.data, typeof data.error === 'string' ? data.error : null);
    }
  }

  /** The stream closed for good before the final state: read the job, and open again if it still runs. */
  async function reconcile() {
    let job: JobSummary;
    try {
      job = await fetchJob(id);
    } catch (error) {
      if (!stopped) handlers.onError?.(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (stopped || finished) return;
    if (FINISHED_STATES.includes(job.state)) {
      finished = true;
      if (job.state === 'done' && !resultSeen) handlers.onResult?.(job.result);
      handlers.onState?.(job.state, job.error);
      stop();
    } else if (reopensLeft-- > 0) open();
    else handlers.onError?.(new Error('Lost the connection to the job’s events'));
  }

  function open() {
    const url = `/api/jobs/${encodeURIComponent(id)}/events${lastSeq > 0 ? `?after=${lastSeq}` : ''}`;
    const es = createEventSource(url);
    source = es;
    for (const type of TYPES) es.addEventListener(type, (message) => deliver(type, message));
    es.onerror = () => {
      // CONNECTING: the browser retries by itself, with Last-Event-ID. CLOSED: it gave up.
      if (stopped || finished || es.readyState !== CLOSED) return;
      es.close();
      if (source === es) source = null;
      void reconcile();
    };
  }

  open();
  return stop;
}

/**
 * The server's data is the whole JobEvent ({seq, at, type, data}); a bare payload is accepted too,
 * numbered by the message's id.
 */
function parseEvent(type: JobEvent['type'], message: MessageEvent<string>): JobEvent | null {
  let json: unknown;
  try {
    json = JSON.parse(message.data);
  } catch {
    return null;
  }
  const full = JobEvent.safeParse(json);
  if (full.success) return full.data;
  const seq = Number(message.lastEventId);
  if (!Number.isInteger(seq) || seq < 1) return null;
  return { seq, at: '', type, data: json };
}
