import { describe, expect, it } from 'vitest';
import type { JobSummary } from '../../lib/api/jobs';
import { polledEventStream, type PolledJob } from './http';

const summary = (state: JobSummary['state'], extra: Partial<JobSummary> = {}): JobSummary => ({
  id: 'j',
  kind: 'eval',
  model: 'm',
  state,
  input: {},
  createdAt: 't',
  startedAt: null,
  finishedAt: null,
  error: null,
  result: null,
  events: 0,
  ...extra,
});

/** The stream's events as [seq, type, data]. */
async function read(response: Response): Promise<[number, string, unknown][]> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('id: '))
    .map((block) => {
      const event = JSON.parse(block.split('\n').find((l) => l.startsWith('data: '))!.slice(6)) as { seq: number; type: string; data: unknown };
      return [event.seq, event.type, event.data];
    });
}

describe('polledEventStream (jobs run by another backend)', () => {
  it('sends state changes, progress changes, then the result and the final state, and ends', async () => {
    const states: PolledJob[] = [
      { summary: summary('queued'), progress: null },
      { summary: summary('running'), progress: { type: 'edit', done: 1, total: 3 } },
      { summary: summary('running'), progress: { type: 'edit', done: 1, total: 3 } },
      { summary: summary('running'), progress: { type: 'edit', done: 3, total: 3 } },
      { summary: summary('done', { result: { ok: true } }), progress: { type: 'edit', done: 3, total: 3 } },
    ];
    let i = 0;
    const response = polledEventStream(async () => states[Math.min(i++, states.length - 1)], new Request('http://x/events'), 1);
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    expect(await read(response)).toEqual([
      [1, 'state', { state: 'queued' }],
      [2, 'state', { state: 'running' }],
      [3, 'progress', { type: 'edit', done: 1, total: 3 }],
      [4, 'progress', { type: 'edit', done: 3, total: 3 }],
      [5, 'result', { ok: true }],
      [6, 'state', { state: 'done' }],
    ]);
  });

  it('numbers events after Last-Event-ID and reports a failure with its reason', async () => {
    const request = new Request('http://x/events', { headers: { 'last-event-id': '7' } });
    const events = await read(polledEventStream(async () => ({ summary: summary('failed', { error: 'boom' }), progress: null }), request, 1));
    expect(events).toEqual([[8, 'state', { state: 'failed', error: 'boom' }]]);
    expect(polledEventStream(async () => undefined, new Request('http://x/events?after=x'), 1).status).toBe(400);
  });
});
