import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend, Engine } from '../../engine';
import { paramGradCheck } from '../../engine/testing/gradcheck';
import { loadEvalCases } from '../../eval/datasets';
import { loadLanguageModel } from '../../models/load';
import { ContextTemplates } from '../context-templates';
import { addDelta } from '../deltas';
import { SecondMoments } from '../stats/second-moment';
import { linesSource } from '../stats/texts';
import { trainRecords } from '../trained';
import { TrainedEditorStore, UntrainedEditorError } from '../trained/store';
import { tinyGpt2, tokenless } from '../../models/testing/tiny-gpt2';
import { KeHparams, keDefaults } from './hparams';
import { keLoss, type KeExample } from './meta';
import { ke } from './method';
import { KeNetworks } from './networks';
import { trainKe } from './train';

const ROOT = path.resolve(__dirname, '../../..');
const tmp = mkdtempSync(path.join(tmpdir(), 'locus-ke-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('KE', () => {
  it("differentiates the loss after the edit in the hyper-network's parameters (finite differences on a tiny GPT-2)", async () => {
    const engine = new Engine(new CpuBackend());
    const network = tokenless(await tinyGpt2(engine)); // a LanguageModel over token ids
    const hp = KeHparams.parse({ layers: [0, 1], lstmHidden: 3, conditionDim: 4, hidden: 3, maxScale: 2 });
    const nets = new KeNetworks(engine, network, hp);
    const batch: KeExample[] = [
      { edit: { prompt: [1, 2, 3], target: [4, 5] }, outer: [{ prompt: [1, 2, 3], target: [4, 5] }, { prompt: [6, 2, 3], target: [4, 5] }], loc: { prompt: [7, 8], target: [9] }, condition: [3, 1, 4, 1, 5] },
      { edit: { prompt: [10, 11], target: [12] }, outer: [{ prompt: [10, 11], target: [12] }], loc: { prompt: [13, 14, 15], target: [0, 1] }, condition: [9, 2, 6] },
    ];
    const lossValue = () =>
      engine.tidy(() => {
        const value = keLoss(network, nets, batch, 3).total.valuesSync()[0]!;
        engine.releaseGraph();
        return value;
      });
    const params = nets.parameters();
    engine.tidy(() => engine.backward(keLoss(network, nets, batch, 3).total));
    const analytic = params.map((p) => Float32Array.from(p.grad!.valuesSync()));
    // KE is smooth (tanh, sigmoid, softmax): a wide step keeps the f32 loss rounding (~2e-4 / 2h) small
    // errors are relative to the entry, floored at a tenth of the largest gradient: the f32 loss (~8)
    // carries ~1e-5 of rounding, which dominates the smallest entries; a wrong gradient is off by O(1)
    const { worst, scale } = paramGradCheck(engine, params, analytic, lossValue, { h: 1e-2, floor: 0.1 });
    expect(scale).toBeGreaterThan(1e-3);
    expect(worst).toBeLessThan(3e-2);
  }, 60_000);

  it('on the world model: refuses untrained, trains (the post-edit loss falls), and a trained edit raises p(new target)', async () => {
    const engine = new Engine(new CpuBackend());
    const modelDir = path.join(ROOT, 'data/models/world-gpt2');
    const lm = await loadLanguageModel(engine, modelDir);
    const train = trainRecords((await loadEvalCases(path.join(ROOT, 'data/world/datasets/zsre-train.json'))).cases).records;
    const test = (await loadEvalCases(path.join(ROOT, 'data/world/datasets/zsre-test.json'))).cases;
    const store = TrainedEditorStore.forModel(modelDir, tmp);
    const ctx = { lm, stats: new SecondMoments(lm, 'world-gpt2', linesSource(path.join(ROOT, 'data/world/corpus.txt')), { maxTokens: 1000, maxLength: 64, batchSize: 8 }), templates: new ContextTemplates(lm), trained: store };
    const hp = KeHparams.parse({ ...keDefaults(lm), layers: [5], projections: ['out'], lstmHidden: 32, conditionDim: 64, hidden: 32, steps: 60, checkpointEvery: 100 });
    await expect(ke.apply(ctx, [test[0]!.request], hp)).rejects.toThrow(UntrainedEditorError);
    const edits: number[] = [];
    const result = await trainKe(lm, store, train.slice(0, 200), hp, { onProgress: (e) => e.type === 'train' && edits.push(e.terms.edit!) });
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(`KE post-edit NLL, first 15 steps ${mean(edits.slice(0, 15)).toFixed(3)}, last 15 ${mean(edits.slice(-15)).toFixed(3)}; ${result.seconds.toFixed(1)} s`);
    expect(mean(edits.slice(-15))).toBeLessThan(0.5 * mean(edits.slice(0, 15)));
    const gains: number[] = [];
    for (const c of test.slice(20, 30)) {
      const prompt = c.rewritePrompts[0]!;
      const logP = () => lm.score([{ prompt, target: c.request.targetNew }])[0]!.logProb;
      const outcome = await ke.apply(ctx, [c.request], hp);
      const pre = logP();
      for (const d of outcome.deltas) addDelta(lm.network, d);
      gains.push(logP() - pre);
      for (const d of outcome.deltas) addDelta(lm.network, d, -1);
    }
    console.log(`KE log p(new target) gains: ${gains.map((g) => g.toFixed(2)).join(' ')}`);
    // measured 15.4-21.5 nats after 60 steps
    expect(Math.min(...gains)).toBeGreaterThan(10);
  }, 300_000);
});
