import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxTraceRunner, ONNX_IO, type MakeOrtTensor, type OrtSessionLike } from '../../lib/onnx';
import { collectTrace, traceTokens, type TraceResult } from '../../lib/tracing';
import { CpuBackend, Engine } from '../engine';
import { logSoftmax, narrow } from '../engine/ops';
import { ModelVersions } from '../editing/versions';
import type { LanguageModel } from '../models/lm';
import { loadCheckpointDir, loadLanguageModel } from '../models/load';
import { traceStream } from '../tracing';
import { exportOnnx, OnnxExportError } from './export';

/**
 * The world model exported to ONNX and run by onnxruntime-node, against the engine's own forward
 * and the engine's causal trace: what the browser worker runs (onnxruntime-web shares the kernels'
 * definitions, not their code; the e2e test runs it there).
 */
const WORLD = path.resolve(__dirname, '../../data/models/world-gpt2');
const config = JSON.parse(readFileSync(path.join(WORLD, 'config.json'), 'utf8')) as unknown;
interface Probe {
  prompt: string;
  answer: string;
  subject: string;
  phrasing: string;
  form: string;
}
const probes = (JSON.parse(readFileSync(path.resolve(__dirname, '../../data/world/probes/known-facts.json'), 'utf8')) as Probe[]).filter(
  (p) => p.phrasing === 'train' && p.form === 'statements',
);
const engine = new Engine(new CpuBackend());
let lm: LanguageModel;
const sessions: ort.InferenceSession[] = [];

const makeTensor: MakeOrtTensor = ({ type, data, dims }) => new ort.Tensor(type, data, dims);

async function session(bytes: Uint8Array): Promise<ort.InferenceSession> {
  const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all' });
  sessions.push(s);
  return s;
}

/** Feeds for a plain forward: no noise, nothing restored. */
function plainFeeds(ids: number[], targetIds: number[]): Record<string, ort.Tensor> {
  const { layers, hidden } = lm.network.spec;
  const t = ids.length;
  const feeds: Record<string, ort.Tensor> = {
    [ONNX_IO.ids]: new ort.Tensor('int32', Int32Array.from(ids), [1, t]),
    [ONNX_IO.noise]: new ort.Tensor('float32', new Float32Array(t * hidden), [1, t, hidden]),
    [ONNX_IO.targets]: new ort.Tensor('int32', Int32Array.from(targetIds), [targetIds.length]),
  };
  for (const kind of ['hidden', 'mlp', 'attn']) {
    feeds[`restore_${kind}`] = new ort.Tensor('bool', new Uint8Array(layers * t), [layers, 1, t, 1]);
    feeds[`clean_${kind}`] = new ort.Tensor('float32', new Float32Array(layers * t * hidden), [layers, 1, t, hidden]);
  }
  return feeds;
}

function engineLogits(ids: number[]): Float32Array {
  return engine.noGrad(() => engine.tidy(() => lm.network.forward({ ids: engine.tensor(Int32Array.from(ids), [1, ids.length], 'i32') }).logits.valuesSync() as Float32Array));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

beforeAll(async () => {
  lm = await loadLanguageModel(engine, WORLD);
});
afterAll(async () => {
  for (const s of sessions) await s.release();
});

describe('ONNX export of the world model', () => {
  it('gives the engine’s logits at every position (max abs error < 1e-4)', async () => {
    const s = await session(exportOnnx(lm.network, config, { allLogits: true }).bytes);
    const vocab = lm.network.spec.vocabSize;
    let worst = 0;
    for (const probe of probes.slice(0, 5)) {
      const ids = lm.encode(probe.prompt);
      const out = await s.run(plainFeeds(ids, [0]), [ONNX_IO.logits]);
      expect(out[ONNX_IO.logits]!.dims).toEqual([1, ids.length, vocab]);
      worst = Math.max(worst, maxAbsDiff(out[ONNX_IO.logits]!.data as Float32Array, engineLogits(ids)));
    }
    expect(worst).toBeLessThan(1e-4);
    console.info(`world-gpt2 ONNX vs engine: max abs logit error ${worst.toExponential(2)} over 5 prompts`);
  });

  it('reports the last position’s logits and the probabilities of the chosen tokens', async () => {
    const s = await session(exportOnnx(lm.network, config).bytes);
    const probe = probes[0]!;
    const ids = lm.encode(probe.prompt);
    const answer = lm.tokenizer.encode(` ${probe.answer}`, { addSpecialTokens: false }).ids[0]!;
    const out = await s.run(plainFeeds(ids, [answer, 3, 7]), [ONNX_IO.lastLogits, ONNX_IO.targetProbs]);
    const logits = engineLogits(ids);
    const vocab = lm.network.spec.vocabSize;
    expect(maxAbsDiff(out[ONNX_IO.lastLogits]!.data as Float32Array, logits.subarray((ids.length - 1) * vocab))).toBeLessThan(1e-4);
    const logProbs = engine.noGrad(() =>
      engine.tidy(() => logSoftmax(narrow(engine.tensor(logits, [1, ids.length, vocab]), 1, ids.length - 1, 1)).valuesSync() as Float32Array),
    );
    const probs = out[ONNX_IO.targetProbs]!.data as Float32Array;
    expect(out[ONNX_IO.targetProbs]!.dims).toEqual([1, 3]);
    [answer, 3, 7].forEach((id, i) => expect(probs[i]).toBeCloseTo(Math.exp(logProbs[id]!), 6));
    // the world model knows its trained facts
    expect(probs[0]).toBeGreaterThan(0.5);
  });

  it('exports the loaded version: an applied edit changes the exported weights, a revert restores them', async () => {
    const versions = new ModelVersions(lm);
    const probe = probes[1]!;
    const ids = lm.encode(probe.prompt);
    const { hidden, mlpHidden } = lm.network.spec;
    const base = await session(exportOnnx(lm.network, config, { allLogits: true }).bytes);
    // a rank-one delta on layer 2's MLP output weight ([in, out] for GPT-2's Conv1D)
    const left = Float32Array.from({ length: mlpHidden }, (_, i) => Math.sin(i) * 0.05);
    const right = Float32Array.from({ length: hidden }, (_, i) => Math.cos(i) * 0.05);
    const edit = versions.apply('test', [], [{ param: 'transformer.h.2.mlp.c_proj.weight', kind: 'lowRank', rows: mlpHidden, cols: hidden, rank: 1, left, right }]);
    try {
      const edited = await session(exportOnnx(lm.network, config, { allLogits: true }).bytes);
      const engineEdited = engineLogits(ids);
      const onnxEdited = (await edited.run(plainFeeds(ids, [0]), [ONNX_IO.logits]))[ONNX_IO.logits]!.data as Float32Array;
      const onnxBase = (await base.run(plainFeeds(ids, [0]), [ONNX_IO.logits]))[ONNX_IO.logits]!.data as Float32Array;
      expect(maxAbsDiff(onnxEdited, engineEdited)).toBeLessThan(1e-4);
      expect(maxAbsDiff(onnxBase, engineEdited)).toBeGreaterThan(1e-2);
    } finally {
      versions.revert(edit.id);
    }
  });

  it('refuses a version with added FFN slots (T-Patcher, CaliNET), which the graph would leave out', () => {
    const versions = new ModelVersions(lm);
    const { hidden } = lm.network.spec;
    const slots = { param: 'ffn_slots.5', kind: 'ffnSlots', layer: 5, count: 1, width: hidden, activation: 'relu', keys: new Float32Array(hidden), bias: new Float32Array(1), values: new Float32Array(hidden) } as const;
    const edit = versions.apply('test', [], [slots]);
    try {
      expect(() => exportOnnx(lm.network, config)).toThrow(OnnxExportError);
      expect(() => exportOnnx(lm.network, config)).toThrow(/1 key\/value slot\(s\) added beside MLPs.*does not carry/);
    } finally {
      versions.revert(edit.id);
    }
    expect(() => exportOnnx(lm.network, config)).not.toThrow();
  });

  it('refuses a family without an exporter, and a model over the size limit, with the reason', async () => {
    const llama = await loadCheckpointDir(engine, path.resolve(__dirname, '../../data/fixtures/parity/llama'));
    try {
      expect(() => exportOnnx(llama, {})).toThrow(/supports the gpt2 family; this model is llama/);
    } finally {
      llama.dispose();
    }
    let error: unknown;
    try {
      exportOnnx(lm.network, config, { maxBytes: 2 ** 20 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OnnxExportError);
    expect((error as OnnxExportError).status).toBe(413);
    expect((error as Error).message).toMatch(/would be 2\d\.\d MiB of weights, over the 1\.0 MiB limit/);
  });
});

describe('causal trace on the exported world model', () => {
  it('equals the engine’s trace for the same seed (every cell within 2e-5)', async () => {
    const probe = probes.find((p) => p.prompt.indexOf(p.subject) > 0) ?? probes[0]!;
    const request = { prompt: probe.prompt, subject: probe.subject, target: ` ${probe.answer}`, samples: 10, window: 1, seed: 3 };
    const server = await collectTrace(traceStream(lm, request));
    const s = await session(exportOnnx(lm.network, config).bytes);
    const { layers, hidden } = lm.network.spec;
    const runner = new OnnxTraceRunner(s as unknown as OrtSessionLike, makeTensor, { layers, hidden });
    let browser: TraceResult;
    try {
      const input = {
        prompt: server.prompt,
        subject: server.subject,
        target: server.target,
        tokens: server.tokens,
        tokenIds: server.tokenIds,
        subjectRange: server.subjectRange,
        targetToken: server.targetToken,
      };
      browser = await collectTrace(
        traceTokens(runner, input, { kinds: ['hidden', 'mlp', 'attn'], samples: 10, window: 1, seed: 3, positions: 'all', noiseLevel: server.noiseLevel }),
      );
    } finally {
      runner.dispose();
    }
    expect(browser.pClean).toBeCloseTo(server.pClean, 5);
    expect(browser.pCorrupted).toBeCloseTo(server.pCorrupted, 5);
    let worst = 0;
    for (const trace of server.traces) {
      const other = browser.traces.find((t) => t.kind === trace.kind)!;
      trace.effects.forEach((row, l) => row.forEach((v, t) => (worst = Math.max(worst, Math.abs(v! - other.effects[l]![t]!)))));
    }
    expect(worst).toBeLessThan(2e-5);
    expect(browser.suggestion.layer).toBe(server.suggestion.layer);
    // a trace that restores nothing useful would pass the comparison trivially: this one recovers
    // most of the total effect somewhere
    expect(server.totalEffect).toBeGreaterThan(0.3);
    expect(Math.max(...server.traces.find((t) => t.kind === 'hidden')!.effects.flat().map(Number))).toBeGreaterThan(0.5 * server.totalEffect);
    console.info(`world-gpt2 trace, ONNX vs engine: max |effect difference| ${worst.toExponential(2)}; p_clean ${server.pClean.toFixed(4)} vs ${browser.pClean.toFixed(4)}`);
  });
});
