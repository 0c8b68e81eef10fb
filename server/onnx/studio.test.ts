import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BrowserTraceInput } from '../../lib/api/onnx';
import { ModelHub, WORLD_MODEL_DIR, WORLD_MODEL_ID } from '../backend/hub';
import { embeddingNoiseLevel, traceInput } from '../tracing';
import { browserTraceInput, modelOnnx, versionOf } from './studio';

/** What the studio's routes serve for a trace in the browser, through a hub of the world model. */
const probes = JSON.parse(readFileSync(path.resolve('data/world/probes/known-facts.json'), 'utf8')) as { prompt: string; answer: string; subject: string; phrasing: string }[];
const fact = probes.find((p) => p.phrasing === 'train')!;
const request = { prompt: fact.prompt, subject: fact.subject, target: ` ${fact.answer}`, window: 1, samples: 10, kinds: ['hidden' as const], positions: 'all' as const, seed: 1, noiseMultiplier: 3 };

function worldHub(): ModelHub {
  return new ModelHub([{ id: WORLD_MODEL_ID, label: 'World', description: '', location: path.resolve(WORLD_MODEL_DIR) }]);
}

afterEach(() => vi.unstubAllEnvs());

describe('tracing in the browser: what the server serves', () => {
  it('tokenises the request and resolves the noise level as the server trace does', async () => {
    const hub = worldHub();
    const prepared = BrowserTraceInput.parse(await browserTraceInput(hub, WORLD_MODEL_ID, request));
    const lm = await hub.load(WORLD_MODEL_ID);
    expect(prepared.input).toEqual(traceInput(lm, request));
    expect(prepared.settings.noiseLevel).toBe(embeddingNoiseLevel(lm, [fact.subject]));
    expect(prepared).toMatchObject({ version: 'base', layers: 6, hidden: 256, settings: { samples: 10, window: 1, seed: 1, kinds: ['hidden'] } });
  });

  it('answers bad requests with 400 and the reason', async () => {
    const hub = worldHub();
    await expect(browserTraceInput(hub, WORLD_MODEL_ID, { ...request, subject: 'Atlantis' })).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/Atlantis/) });
    await expect(browserTraceInput(hub, WORLD_MODEL_ID, { ...request, window: 7 })).rejects.toMatchObject({ status: 400, message: "window 7 is larger than the model's 6 layers" });
    await expect(browserTraceInput(hub, 'nope', request)).rejects.toMatchObject({ status: 404 });
  });

  it('refuses both requests over LOCUS_ONNX_MAX_MB with 413, naming the sizes', async () => {
    vi.stubEnv('LOCUS_ONNX_MAX_MB', '10');
    const hub = worldHub();
    const tooLarge = { status: 413, message: expect.stringMatching(/would be 2\d\.\d MiB of weights, over the 10\.0 MiB limit/) };
    await expect(browserTraceInput(hub, WORLD_MODEL_ID, request)).rejects.toMatchObject(tooLarge);
    await expect(modelOnnx(hub, WORLD_MODEL_ID)).rejects.toMatchObject(tooLarge);
  });

  it('serves the version it names: a model onnxruntime loads, and a new version after an edit', async () => {
    const hub = worldHub();
    const base = await modelOnnx(hub, WORLD_MODEL_ID);
    expect(base.version).toBe('base');
    const session = await ort.InferenceSession.create(base.bytes);
    try {
      expect(session.outputNames).toContain('target_probs');
    } finally {
      await session.release();
    }
    const { versions, lm } = await hub.workspace(WORLD_MODEL_ID);
    const { hidden } = lm.editSpec;
    const edit = versions.apply('test', [], [{ param: 'transformer.h.0.attn.c_proj.weight', kind: 'lowRank', rows: hidden, cols: hidden, rank: 1, left: new Float32Array(hidden).fill(0.01), right: new Float32Array(hidden).fill(0.01) }]);
    try {
      const edited = await modelOnnx(hub, WORLD_MODEL_ID);
      expect(edited.version).toMatch(new RegExp(`^edits-${edit.id}\\.[0-9a-z]+$`));
      expect(edited.version).toBe(versionOf(hub, WORLD_MODEL_ID));
      expect(Buffer.compare(Buffer.from(edited.bytes), Buffer.from(base.bytes))).not.toBe(0);
    } finally {
      versions.revert(edit.id);
    }
    expect(versionOf(hub, WORLD_MODEL_ID)).toBe('base');
  });
});
