/**
 * Scale-out through Redis: Debian's redis-server and two backend processes (`npm run backend` with
 * REDIS_URL); 20 evaluation jobs must each be done exactly once, also when one backend is killed
 * in the middle of a job.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { EVAL_QUEUE } from './distributed';
import { freePort, killGroup, startProcess } from '../testing/processes';
import { tempDir } from './testing';

const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
const TOKEN = 'scale-out-token';
const JOBS = 20;
const tmp = tempDir();
const children: ChildProcess[] = [];

function start(command: string, args: string[], env: Record<string, string>, ready: RegExp): Promise<ChildProcess> {
  return startProcess(command, args, env, ready).then((proc) => (children.push(proc), proc));
}

afterAll(() => {
  for (const child of children) killGroup(child, 'SIGKILL');
  tmp.remove();
});

describe.skipIf(!hasRedis)('scale-out through Redis and BullMQ (redis-server from scripts/setup.sh)', () => {
  it('two backends take 20 evaluations; each is done exactly once, also the one whose backend is killed mid-job', async () => {
    const redisPort = await freePort();
    await start('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmp.dir], {}, /Ready to accept connections/);
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    const backend = async (name: string) => {
      const port = await freePort();
      const proc = await start(
        path.resolve('node_modules/.bin/tsx'),
        ['server/backend/service/main.ts'],
        { LOCUS_BACKEND_TOKEN: TOKEN, LOCUS_BACKEND_PORT: String(port), LOCUS_BACKEND_NAME: name, LOCUS_DATA_DIR: path.join(tmp.dir, name), REDIS_URL: redisUrl, LOCUS_REDIS_LOCK_MS: '3000' },
        /listening/,
      );
      return { name, proc, url: `http://127.0.0.1:${port}` };
    };
    const [a, b] = await Promise.all([backend('backend-a'), backend('backend-b')]);

    const connection = { host: '127.0.0.1', port: redisPort, maxRetriesPerRequest: null };
    const events = new QueueEvents(EVAL_QUEUE, { connection });
    const queue = new Queue(EVAL_QUEUE, { connection });
    await events.waitUntilReady();
    const completions = new Map<string, number>();
    const failures: string[] = [];
    events.on('completed', ({ jobId }) => completions.set(jobId, (completions.get(jobId) ?? 0) + 1));
    events.on('failed', ({ jobId, failedReason }) => failures.push(`${jobId}: ${failedReason}`));

    // Submitted over HTTP to backend A; either backend may run each.
    const ids: string[] = [];
    for (let i = 0; i < JOBS; i++) {
      const res = await fetch(`${a.url}/api/jobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'eval', model: 'world-gpt2', method: 'rome', dataset: 'world:counterfact-test', n: 1, offset: i, hparams: { useContextTemplates: false } }),
      });
      expect(res.status).toBe(201);
      ids.push(((await res.json()) as { id: string }).id);
    }

    const until = async (what: string | (() => string), ok: () => Promise<boolean> | boolean, ms = 90_000) => {
      const end = Date.now() + ms;
      while (!(await ok())) {
        if (Date.now() > end) throw new Error(`timed out: ${typeof what === 'function' ? what() : what}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    // Kill B just after it has taken a job (an evaluation takes a second or more), once it has finished at least one.
    let killedJob = '';
    await until('backend B busy after a first job', async () => {
      const active = await queue.getActive();
      const mine = active.find((j) => j.processedBy === 'backend-b' && Date.now() - j.processedOn! < 250);
      const doneByB = (await queue.getCompleted()).some((j) => (j.returnvalue as { backend: string }).backend === 'backend-b');
      if (!mine || !doneByB) return false;
      killedJob = mine.id!;
      return true;
    });
    killGroup(b.proc, 'SIGKILL');

    await until(() => `all ${JOBS} jobs completed (so far ${completions.size}; failures: ${failures.join('; ') || 'none'})`, () => completions.size === JOBS, 300_000);
    await new Promise((r) => setTimeout(r, 500)); // any duplicate completion would have arrived
    expect(failures).toEqual([]);
    expect([...completions.keys()].sort()).toEqual([...ids].sort());
    expect([...completions.values()].every((n) => n === 1)).toBe(true);

    const done = await queue.getCompleted(0, JOBS);
    const by = (name: string) => done.filter((j) => (j.returnvalue as { backend: string }).backend === name).length;
    expect(by('backend-a') + by('backend-b')).toBe(JOBS);
    expect(by('backend-b')).toBeGreaterThan(0);
    const rescued = done.find((j) => j.id === killedJob)!;
    expect((rescued.returnvalue as { backend: string }).backend).toBe('backend-a');
    // Each result is a real report of its own case.
    for (const job of done) {
      const report = (job.returnvalue as { result: { method: string; offset: number; averages: { post: { cases: number } } } }).result;
      expect(report).toMatchObject({ method: 'ROME', averages: { post: { cases: 1 } } });
    }
    // The API reads a distributed job's state from Redis.
    const summary = (await (await fetch(`${a.url}/api/jobs/${killedJob}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { state: string; kind: string };
    expect(summary).toMatchObject({ state: 'done', kind: 'eval' });

    // Its events, streamed by a backend that did not run it (read from Redis), end with the result.
    const stream = await (await fetch(`${a.url}/api/jobs/${killedJob}/events`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(stream).toMatch(/event: result\ndata: .*"method":"ROME"/);
    expect(stream.trim().split('\n\n').at(-1)).toMatch(/event: state\ndata: .*"state":"done"/);

    await events.close();
    await queue.close();
  }, 480_000);
});
