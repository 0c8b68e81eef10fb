import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiRequestError } from './client';
import { cancelJob, followJob, startJob, type EventSourceLike, type JobHandlers } from './job-client';
import type { JobEvent, JobSummary } from './jobs';

/** An EventSource the test drives: emit() delivers a named message, fail() drops or ends the stream. */
class FakeEventSource implements EventSourceLike {
  readyState = 1;
  onerror: ((event: Event) => void) | null = null;
  closed = false;
  private listeners = new Map<string, ((event: MessageEvent<string>) => void)[]>();
  constructor(readonly url: string) {}
  addEventListener(type: string, listener: (event: MessageEvent<string>) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  close() {
    this.closed = true;
    this.readyState = 2;
  }
  emit(event: Omit<JobEvent, 'at'>) {
    const message = { data: JSON.stringify({ at: '2025-01-01T00:00:00.000Z', ...event }), lastEventId: String(event.seq) } as MessageEvent<string>;
    for (const listener of this.listeners.get(event.type) ?? []) listener(message);
  }
  /** readyState 0: the browser reconnects by itself; 2: it gave up. */
  fail(readyState: 0 | 2) {
    this.readyState = readyState;
    this.onerror?.(new Event('error'));
  }
}

function recorder() {
  const log: string[] = [];
  const handlers: JobHandlers = {
    onState: (state, error) => log.push(`state ${state}${error ? ` (${error})` : ''}`),
    onProgress: (data, seq) => log.push(`progress ${seq} ${JSON.stringify(data)}`),
    onResult: (data) => log.push(`result ${JSON.stringify(data)}`),
    onError: (error) => log.push(`error ${error.message}`),
  };
  return { log, handlers };
}

function summary(overrides: Partial<JobSummary>): JobSummary {
  return {
    id: 'j1',
    kind: 'trace',
    model: 'm',
    state: 'running',
    input: {},
    createdAt: '',
    startedAt: null,
    finishedAt: null,
    error: null,
    result: null,
    events: 0,
    ...overrides,
  };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('followJob', () => {
  it('delivers state, progress and result events in order and closes on the final state', () => {
    const sources: FakeEventSource[] = [];
    const { log, handlers } = recorder();
    followJob('j1', handlers, { createEventSource: (url) => (sources.push(new FakeEventSource(url)), sources.at(-1)!) });
    const es = sources[0]!;
    expect(es.url).toBe('/api/jobs/j1/events');
    es.emit({ seq: 1, type: 'state', data: { state: 'queued' } });
    es.emit({ seq: 2, type: 'state', data: { state: 'running' } });
    es.emit({ seq: 3, type: 'progress', data: { type: 'row', n: 1 } });
    es.emit({ seq: 4, type: 'result', data: { ok: true } });
    expect(es.closed).toBe(false);
    es.emit({ seq: 5, type: 'state', data: { state: 'done' } });
    expect(es.closed).toBe(true);
    expect(log).toEqual(['state queued', 'state running', 'progress 3 {"type":"row","n":1}', 'result {"ok":true}', 'state done']);
    // The server ends the stream after the final state; nothing reconnects.
    es.fail(2);
    expect(sources).toHaveLength(1);
  });

  it('ignores events replayed after a reconnect (a seq already seen)', () => {
    const sources: FakeEventSource[] = [];
    const { log, handlers } = recorder();
    followJob('j1', handlers, { createEventSource: (url) => (sources.push(new FakeEventSource(url)), sources.at(-1)!) });
    const es = sources[0]!;
    es.emit({ seq: 1, type: 'state', data: { state: 'running' } });
    es.emit({ seq: 2, type: 'progress', data: 'a' });
    es.fail(0); // the browser reconnects with Last-Event-ID on the same EventSource
    es.readyState = 1;
    es.emit({ seq: 2, type: 'progress', data: 'a' });
    es.emit({ seq: 3, type: 'progress', data: 'b' });
    es.emit({ seq: 3, type: 'progress', data: 'b' });
    es.emit({ seq: 4, type: 'state', data: { state: 'failed', error: 'out of memory' } });
    expect(log).toEqual(['state running', 'progress 2 "a"', 'progress 3 "b"', 'state failed (out of memory)']);
    expect(sources).toHaveLength(1);
  });

  it('reads the job when the stream closes early: reports a finished job’s result and state', async () => {
    const sources: FakeEventSource[] = [];
    const { log, handlers } = recorder();
    const fetchJob = vi.fn(async () => summary({ state: 'done', result: { answer: 42 } }));
    followJob('j1', handlers, { createEventSource: (url) => (sources.push(new FakeEventSource(url)), sources.at(-1)!), fetchJob });
    sources[0]!.emit({ seq: 1, type: 'state', data: { state: 'running' } });
    sources[0]!.fail(2);
    await vi.waitFor(() => expect(log).toHaveLength(3));
    expect(fetchJob).toHaveBeenCalledWith('j1');
    expect(log).toEqual(['state running', 'result {"answer":42}', 'state done']);
  });

  it('opens the stream again after the last seq seen while the job still runs, and gives up after the attempts', async () => {
    const sources: FakeEventSource[] = [];
    const { log, handlers } = recorder();
    const fetchJob = vi.fn(async () => summary({ state: 'running' }));
    followJob('j1', handlers, {
      createEventSource: (url) => (sources.push(new FakeEventSource(url)), sources.at(-1)!),
      fetchJob,
      reopenAttempts: 1,
    });
    sources[0]!.emit({ seq: 1, type: 'state', data: { state: 'running' } });
    sources[0]!.emit({ seq: 2, type: 'progress', data: 'x' });
    sources[0]!.fail(2);
    await vi.waitFor(() => expect(sources).toHaveLength(2));
    expect(sources[1]!.url).toBe('/api/jobs/j1/events?after=2');
    sources[1]!.fail(2);
    await vi.waitFor(() => expect(log.at(-1)).toBe('error Lost the connection to the job’s events'));
    expect(sources).toHaveLength(2);
  });

  it('stops delivering once the caller stops following', () => {
    const sources: FakeEventSource[] = [];
    const { log, handlers } = recorder();
    const stop = followJob('j1', handlers, { createEventSource: (url) => (sources.push(new FakeEventSource(url)), sources.at(-1)!) });
    stop();
    expect(sources[0]!.closed).toBe(true);
    sources[0]!.emit({ seq: 1, type: 'state', data: { state: 'running' } });
    expect(log).toEqual([]);
  });
});

describe('startJob and cancelJob', () => {
  it('posts the input and parses the summary; a 400 carries the server’s message', async () => {
    const fetchMock = vi.fn(async (url: string, init: RequestInit) => {
      const body = JSON.parse(String(init.body)) as { model: string };
      if (body.model === 'bad') return Response.json({ error: 'The subject "x" is not in the prompt' }, { status: 400 });
      return Response.json(summary({ id: 'new', state: 'queued' }), { status: 201 });
    });
    vi.stubGlobal('fetch', fetchMock);
    const input = { kind: 'trace' as const, model: 'm', request: { prompt: 'The country of Noumar is', subject: 'Noumar', target: ' Flodedia' } };
    await expect(startJob(input)).resolves.toMatchObject({ id: 'new', state: 'queued' });
    expect(fetchMock).toHaveBeenCalledWith('/api/jobs', expect.objectContaining({ method: 'POST' }));
    const failure = startJob({ ...input, model: 'bad' });
    await expect(failure).rejects.toBeInstanceOf(ApiRequestError);
    await expect(failure).rejects.toThrow('The subject "x" is not in the prompt');

    await cancelJob('new');
    expect(fetchMock).toHaveBeenLastCalledWith('/api/jobs/new/cancel', expect.objectContaining({ method: 'POST' }));
  });
});
