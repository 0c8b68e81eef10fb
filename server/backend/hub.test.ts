import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PredictRequest, ScoreRequest } from '../../lib/api';
import { HubError, ModelHub, WORLD_MODEL_DIR, WORLD_MODEL_ID } from './hub';
import { jsonPost } from './http';

const worldDir = path.resolve(WORLD_MODEL_DIR);
const probes = JSON.parse(readFileSync(path.resolve('data/world/probes/known-facts.json'), 'utf8')) as {
  prompt: string;
  answer: string;
  phrasing: string;
}[];
const fact = probes.find((p) => p.phrasing === 'train')!;

function worldHub(): ModelHub {
  return new ModelHub([{ id: WORLD_MODEL_ID, label: 'World', description: '', location: worldDir }]);
}

describe('ModelHub', () => {
  it('describes a model from its config before loading it, and counts parameters once loaded', async () => {
    const hub = worldHub();
    const before = (await hub.list()).models[0]!;
    expect(before).toMatchObject({ id: WORLD_MODEL_ID, family: 'gpt2', status: 'available', params: null, isDefault: true });
    expect(before.layers).toBeGreaterThan(0);

    await hub.load(WORLD_MODEL_ID);
    const after = (await hub.list()).models[0]!;
    expect(after).toMatchObject({ status: 'loaded', layers: before.layers, hidden: before.hidden, vocabSize: before.vocabSize });
    expect(after.params).toBeGreaterThan(1_000_000);
  });

  it('shares one load between concurrent requests', async () => {
    const hub = worldHub();
    const [a, b] = await Promise.all([hub.load(WORLD_MODEL_ID), hub.load(WORLD_MODEL_ID)]);
    expect(a).toBe(b);
  });

  it('predicts the answer of a trained world fact, timing the load only on first use', async () => {
    const hub = worldHub();
    const first = await hub.predict({ model: WORLD_MODEL_ID, prompt: fact.prompt, k: 5 });
    expect(first.tokens).toHaveLength(5);
    expect(fact.answer.startsWith(first.tokens[0]!.token.trim())).toBe(true);
    expect(first.tokens[0]!.prob).toBeGreaterThan(first.tokens[1]!.prob);
    expect(first.promptTokens.join('')).toBe(fact.prompt);
    expect(first.loadMs).toBeGreaterThan(0);
    const again = await hub.predict({ model: WORLD_MODEL_ID, prompt: fact.prompt, k: 5 });
    expect(again.loadMs).toBe(0);
    expect(again.tokens).toEqual(first.tokens);
  });

  it('scores targets teacher-forced: prob is exp of the summed token log-probabilities', async () => {
    const hub = worldHub();
    const { targets } = await hub.score({ model: WORLD_MODEL_ID, prompt: fact.prompt, targets: [` ${fact.answer}`, ' zzz qqq'] });
    const [answer, other] = targets;
    expect(answer!.tokens[0]!.isArgmax).toBe(true);
    expect(answer!.prob).toBeGreaterThan(other!.prob);
    for (const t of targets) {
      expect(t.logProb).toBeCloseTo(t.tokens.reduce((s, x) => s + x.logProb, 0), 6);
      expect(t.prob).toBeCloseTo(Math.exp(t.logProb), 12);
    }
  });

  it('answers 404 for an unknown model and 400 for a prompt longer than the context', async () => {
    const hub = worldHub();
    await expect(hub.predict({ model: 'nope', prompt: 'x', k: 1 })).rejects.toMatchObject({ status: 404 });
    const long = 'word '.repeat(400);
    await expect(hub.predict({ model: WORLD_MODEL_ID, prompt: long, k: 1 })).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/reads at most \d+/) });
  });

  it('reports a missing checkpoint as a load error (500) in the list and on use, and retries later', async () => {
    const hub = new ModelHub([{ id: 'gone', label: 'Gone', description: '', location: '/nonexistent/model' }]);
    const listed = (await hub.list()).models[0]!;
    expect(listed.status).toBe('error');
    expect(listed.error).toMatch(/not found/);
    const err = await hub.load('gone').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubError);
    expect(err).toMatchObject({ status: 500, message: expect.stringMatching(/^Could not load gone: .*not found/) });
    // not cached as a failure: a second try loads again (and fails again here)
    await expect(hub.load('gone')).rejects.toMatchObject({ status: 500 });
  });
});

describe('jsonPost', () => {
  const post = (body: string) => new Request('http://localhost/api/predict', { method: 'POST', body, headers: { 'content-type': 'application/json' } });

  it('answers 400 with the issues for a body that fails the schema, without calling the server', async () => {
    let called = false;
    const res = await jsonPost(post(JSON.stringify({ model: WORLD_MODEL_ID, prompt: '', k: 99 })), PredictRequest, async () => (called = true));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; issues: { path: string }[] };
    expect(body.error).toContain('prompt: Enter a prompt');
    expect(body.issues.map((i) => i.path)).toEqual(['prompt', 'k']);
    expect(called).toBe(false);
  });

  it('answers 400 for a body that is not JSON and maps HubErrors to their status', async () => {
    expect((await jsonPost(post('{'), ScoreRequest, async () => 1)).status).toBe(400);
    const res = await jsonPost(post(JSON.stringify({ model: 'x', prompt: 'p', targets: [' a'] })), ScoreRequest, async () => {
      throw new HubError(404, 'Unknown model "x"');
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'Unknown model "x"' });
  });

  it('answers 500 with the message, never the stack, for other failures', async () => {
    const res = await jsonPost(post(JSON.stringify({ model: 'x', prompt: 'p' })), PredictRequest, async () => {
      throw new Error('boom');
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'boom' });
  });
});

describe('API schemas', () => {
  it('defaults k to 10 and bounds prompt, k and targets', () => {
    expect(PredictRequest.parse({ model: 'm', prompt: 'p' }).k).toBe(10);
    expect(PredictRequest.safeParse({ model: 'm', prompt: 'x'.repeat(2001) }).success).toBe(false);
    expect(PredictRequest.safeParse({ model: 'm', prompt: 'p', k: 0 }).success).toBe(false);
    expect(PredictRequest.safeParse({ model: 'm', prompt: 'p', k: 2.5 }).success).toBe(false);
    expect(ScoreRequest.safeParse({ model: 'm', prompt: 'p', targets: [] }).success).toBe(false);
    expect(ScoreRequest.safeParse({ model: 'm', prompt: 'p', targets: Array(11).fill(' a') }).success).toBe(false);
  });
});
