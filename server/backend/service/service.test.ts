/**
 * The standalone backend as a separate process (`npm run backend`), over HTTP: auth, input limits,
 * model paths, and what a crash mid-edit leaves behind.
 */
import type { ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROMPT_MAX_CHARS } from '../../../lib/api/predict';
import { tempDir } from '../../jobs/testing';
import { freePort, killGroup, startProcess } from '../../testing/processes';
import { WORLD_MODEL_DIR } from '../hub';

const TOKEN = 'test-token-7d1e';
const tmp = tempDir();
const roots = path.join(tmp.dir, 'models');

interface Backend {
  url: string;
  proc: ChildProcess;
}

async function start(): Promise<Backend> {
  const port = await freePort();
  const proc = await startProcess(
    path.resolve('node_modules/.bin/tsx'),
    ['server/backend/service/main.ts'],
    { LOCUS_BACKEND_TOKEN: TOKEN, LOCUS_BACKEND_PORT: String(port), LOCUS_DATA_DIR: path.join(tmp.dir, 'data'), LOCUS_MODEL_ROOTS: roots, LOCUS_MAX_BODY_BYTES: String(64 * 1024) },
    /listening/,
  );
  return { url: `http://127.0.0.1:${port}`, proc };
}

function stop(backend: Backend, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise((resolve) => {
    if (backend.proc.exitCode !== null || backend.proc.signalCode !== null) return resolve();
    backend.proc.on('exit', () => resolve());
    killGroup(backend.proc, signal);
  });
}

const auth = { authorization: `Bearer ${TOKEN}` };
async function call(backend: Backend, route: string, body?: unknown, headers: Record<string, string> = auth): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${backend.url}${route}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}

async function until<T>(what: string, poll: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await poll();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const jobState = (b: Backend, id: string) => call(b, `/api/jobs/${id}`).then((r) => r.json as { state: string; events: number; error: string | null });

let backend: Backend;

beforeAll(async () => {
  mkdirSync(roots, { recursive: true });
  mkdirSync(path.join(tmp.dir, 'outside'));
  cpSync(path.resolve(WORLD_MODEL_DIR), path.join(roots, 'world'), { recursive: true });
  symlinkSync(path.join(tmp.dir, 'outside'), path.join(roots, 'escape'));
  backend = await start();
}, 60_000);

afterAll(async () => {
  await stop(backend);
  tmp.remove();
});

describe('the standalone backend', () => {
  it('refuses every API request without the bearer token', async () => {
    const none = await call(backend, '/api/models', undefined, {});
    expect(none.status).toBe(401);
    expect(none.json.error).toMatch(/bearer token/);
    expect((await call(backend, '/api/models', undefined, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await call(backend, '/api/jobs', { kind: 'trace' }, {})).status).toBe(401);
    expect((await call(backend, '/api/models')).status).toBe(200);
  });

  it('answers malformed, oversized and unknown requests with 4xx and a sentence', async () => {
    const notJson = await call(backend, '/api/predict', '{"model":');
    expect(notJson).toMatchObject({ status: 400, json: { error: 'The request body is not valid JSON' } });
    const huge = await call(backend, '/api/predict', { model: 'world-gpt2', prompt: 'x'.repeat(100_000), k: 3 });
    expect(huge.status).toBe(413);
    expect(huge.json.error).toMatch(/larger than 65536 bytes/);
    const long = await call(backend, '/api/predict', { model: 'world-gpt2', prompt: 'x'.repeat(PROMPT_MAX_CHARS + 1), k: 3 });
    expect(long.status).toBe(400);
    expect(long.json.error).toMatch(/longer than/);
    expect((await call(backend, '/api/jobs', { kind: 'eval', model: 'world-gpt2', method: 'rome', dataset: 'world:counterfact-test', n: 100_000 })).status).toBe(400);
    expect((await call(backend, '/api/jobs', { kind: 'nope' })).status).toBe(400);
    expect((await call(backend, '/api/nope')).status).toBe(404);
    expect((await call(backend, '/api/jobs/no-such-job')).status).toBe(404);
  });

  it('loads models by path inside the model roots only', async () => {
    const predict = (model: string) => call(backend, '/api/predict', { model, prompt: 'The birthplace of Gipinin Douvez is', k: 1 });
    const ok = await predict('path:world');
    expect(ok.status).toBe(200);
    expect((ok.json.tokens as { token: string }[])[0]!.token).toBe(' Troubivik');
    for (const model of ['path:../world', 'path:world/../../x', 'path:/etc', 'path:escape']) {
      const refused = await predict(model);
      expect(refused.status, model).toBe(400);
      expect(refused.json.error, model).toMatch(/relative to a model root|outside the model roots/);
    }
    expect((await predict('path:nope')).status).toBe(404);
  });

  it('killed mid-edit: after a restart the earlier edit is still there, the killed one is not, and the queue is marked and can run again', async () => {
    const request = { prompt: 'The birthplace of {} is', subject: 'Gipinin Douvez', targetNew: ' Demaiholm', targetTrue: ' Troubivik' };
    const first = await call(backend, '/api/jobs', { kind: 'edit', model: 'world-gpt2', method: 'rome', request, hparams: { useContextTemplates: false } });
    expect(first.status).toBe(201);
    await until('the first edit', async () => ((await jobState(backend, first.json.id as string)).state === 'done' ? true : undefined));

    // A slow edit (FT-L for 5000 steps: on the world model its loss never reaches the early stop),
    // and a trace queued behind it (an edit locks the model).
    const other = { prompt: 'The birthplace of {} is', subject: 'Harotin Donell', targetNew: ' Demaiholm', targetTrue: ' Troubivik' };
    const slow = await call(backend, '/api/jobs', { kind: 'edit', model: 'world-gpt2', method: 'ft-l', request: other, hparams: { numSteps: 5000 } });
    expect(slow.status).toBe(201);
    const trace = await call(backend, '/api/jobs', { kind: 'trace', model: 'world-gpt2', request: { prompt: 'Harotin Donell was born in', subject: 'Harotin Donell', target: ' Troubivik', kinds: ['mlp'], samples: 2, window: 1 } });
    expect(trace.status).toBe(201);
    await until('the slow edit to compute', async () => {
      const s = await jobState(backend, slow.json.id as string);
      return s.state === 'running' && s.events > 5 ? true : undefined;
    });
    await stop(backend, 'SIGKILL');

    backend = await start();
    const killed = await jobState(backend, slow.json.id as string);
    expect(killed).toMatchObject({ state: 'failed', error: expect.stringMatching(/^interrupted: the server stopped while this job was running/) });
    expect(await jobState(backend, trace.json.id as string)).toMatchObject({ state: 'failed', error: expect.stringMatching(/before this job started/) });
    const versions = await call(backend, '/api/models/world-gpt2/versions');
    expect((versions.json.edits as { method: string; requests: { subject: string }[] }[]).map((e) => [e.method, e.requests[0]!.subject])).toEqual([['ROME', 'Gipinin Douvez']]);
    const scores = await call(backend, '/api/score', { model: 'world-gpt2', prompt: 'Harotin Donell was born in', targets: [' Troubivik'] });
    expect(Math.exp((scores.json.targets as { logProb: number }[])[0]!.logProb)).toBeGreaterThan(0.5); // the killed edit left no trace

    const again = await call(backend, `/api/jobs/${trace.json.id as string}/rerun`, {});
    expect(again.status).toBe(201);
    await until('the rerun trace', async () => ((await jobState(backend, again.json.id as string)).state === 'done' ? true : undefined));
  }, 120_000);
});
