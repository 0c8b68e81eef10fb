import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../lib/api/errors';
import { JobEvent, JobSummary } from '../../lib/api/jobs';
import { eventStream } from './http';
import { JobQueue } from './queue';
import { setJobsForTesting } from './instance';
import { ControlledRunners, finished, settle, tempDir, traceInput } from './testing';
import { POST as createJob, GET as listJobs } from '../../app/api/jobs/route';
import { GET as getJob } from '../../app/api/jobs/[id]/route';
import { POST as cancelJob } from '../../app/api/jobs/[id]/cancel/route';
import { GET as jobEvents } from '../../app/api/jobs/[id]/events/route';
import { POST as rerunJob } from '../../app/api/jobs/[id]/rerun/route';

// The real runners load models; these tests install a queue with controlled ones (setJobsForTesting).
vi.mock('../backend/runners', () => ({ RUNNERS: {} }));

const BASE = 'http://localhost/api/jobs';
const params = (id: string) => ({ params: Promise.resolve({ id }) });
const post = (body: string) => new Request(BASE, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

/** The SSE messages of a finished stream: [{id, event, data}]; comments and `retry:` skipped. */
async function readSse(response: Response): Promise<{ id: string; event: string; data: JobEvent }[]> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((block) => block.includes('data: '))
    .map((block) => {
      const field = (name: string) => block.split('\n').find((line) => line.startsWith(`${name}: `))!.slice(name.length + 2);
      return { id: field('id'), event: field('event'), data: JobEvent.parse(JSON.parse(field('data'))) };
    });
}

let tmp: ReturnType<typeof tempDir>;
let queue: JobQueue;
let runners: ControlledRunners;

beforeEach(() => {
  tmp = tempDir();
  runners = new ControlledRunners();
  queue = new JobQueue({ path: path.join(tmp.dir, 'jobs.sqlite'), runners: runners.runners });
  setJobsForTesting(queue);
});

afterEach(async () => {
  setJobsForTesting(undefined);
  await queue.close();
  tmp.remove();
});

describe('/api/jobs routes', () => {
  it('POST validates the body (400 with issues), creates a job (201), and GET lists and finds it', async () => {
    const bad = await createJob(post(JSON.stringify({ kind: 'trace', model: '', request: { prompt: 'p' } })));
    expect(bad.status).toBe(400);
    const error = ApiError.parse(await bad.json());
    expect(error.issues!.map((i) => i.path)).toEqual(expect.arrayContaining(['model', 'request.subject']));
    expect(error.error).toContain('model: Choose a model');
    expect((await createJob(post('{not json'))).status).toBe(400);
    expect((await createJob(post(JSON.stringify({ kind: 'eval', model: 'm' })))).status).toBe(400);

    const created = await createJob(post(JSON.stringify(traceInput('m', 'a'))));
    expect(created.status).toBe(201);
    const job = JobSummary.parse(await created.json());
    expect(job).toMatchObject({ kind: 'trace', model: 'm', state: 'queued' });

    const found = await getJob(new Request(`${BASE}/${job.id}`), params(job.id));
    expect(found.status).toBe(200);
    expect(JobSummary.parse(await found.json()).id).toBe(job.id);
    const list = await listJobs(new Request(`${BASE}?model=m&kind=trace&limit=5`));
    expect(((await list.json()) as { jobs: JobSummary[] }).jobs.map((j) => j.id)).toEqual([job.id]);
    expect((await listJobs(new Request(`${BASE}?kind=nope`))).status).toBe(400);
    expect(await listJobs(new Request(`${BASE}?model=other`)).json()).toEqual({ jobs: [] });

    const missing = await getJob(new Request(`${BASE}/nope`), params('nope'));
    expect(missing.status).toBe(404);
    expect(ApiError.parse(await missing.json()).error).toBe('No job nope');
    expect((await cancelJob(new Request(`${BASE}/nope/cancel`, { method: 'POST' }), params('nope'))).status).toBe(404);
    expect((await jobEvents(new Request(`${BASE}/nope/events`), params('nope'))).status).toBe(404);
    expect((await rerunJob(new Request(`${BASE}/nope/rerun`, { method: 'POST' }), params('nope'))).status).toBe(404);

    const cancelled = await cancelJob(new Request(`${BASE}/${job.id}/cancel`, { method: 'POST' }), params(job.id));
    expect(cancelled.status).toBe(200);
    expect(((await cancelled.json()) as JobSummary).state).toMatch(/running|cancelled/);
    await finished(queue, job.id);
    const rerun = await rerunJob(new Request(`${BASE}/${job.id}/rerun`, { method: 'POST' }), params(job.id));
    expect(rerun.status).toBe(201);
    const again = JobSummary.parse(await rerun.json());
    await settle();
    runners.finish('a');
    await finished(queue, again.id);
  });

  it('streams a job as Server-Sent Events: live until it ends, resumable after Last-Event-ID or ?after=', async () => {
    const job = queue.submit(traceInput('m', 'a'));
    await settle();

    const response = await jobEvents(new Request(`${BASE}/${job.id}/events`), params(job.id));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const messages = readSse(response);
    runners.emit('a', { step: 1 });
    runners.finish('a', { answer: 42 });
    const all = await messages; // resolves only because the stream ends after the final state
    expect(all.map((m) => m.event)).toEqual(['state', 'state', 'progress', 'progress', 'result', 'state']);
    expect(all.map((m) => m.id)).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(all.map((m) => m.data.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(all[4]!.data.data).toEqual({ answer: 42 });
    expect(all[5]!.data.data).toEqual({ state: 'done' });

    const resumed = await jobEvents(new Request(`${BASE}/${job.id}/events?after=1`, { headers: { 'Last-Event-ID': '4' } }), params(job.id));
    expect((await readSse(resumed)).map((m) => m.id)).toEqual(['5', '6']);
    const after = await jobEvents(new Request(`${BASE}/${job.id}/events?after=3`), params(job.id));
    expect((await readSse(after)).map((m) => m.id)).toEqual(['4', '5', '6']);
    // Nothing left of a finished job: 204, so an EventSource stops reconnecting.
    expect((await jobEvents(new Request(`${BASE}/${job.id}/events`, { headers: { 'Last-Event-ID': '6' } }), params(job.id))).status).toBe(204);
    expect((await jobEvents(new Request(`${BASE}/${job.id}/events?after=x`), params(job.id))).status).toBe(400);
  });

  it('lets go of the subscription when the client disconnects', async () => {
    const job = queue.submit(traceInput('m', 'a'));
    await settle();
    const client = new AbortController();
    const response = await jobEvents(new Request(`${BASE}/${job.id}/events`, { signal: client.signal }), params(job.id));
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('retry:');
    expect(queue.subscribers(job.id)).toBe(1);
    client.abort();
    expect(queue.subscribers(job.id)).toBe(0);
    runners.finish('a');
    await finished(queue, job.id);
  });

  it('sends a heartbeat comment while a job is quiet', async () => {
    const job = queue.submit(traceInput('m', 'a'));
    await settle();
    const reader = eventStream(queue, job.id, new Request(`${BASE}/${job.id}/events`), 5).body!.getReader();
    let text = '';
    while (!text.includes(': heartbeat')) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect(queue.subscribers(job.id)).toBe(0);
    runners.finish('a');
    await finished(queue, job.id);
  });
});
