import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gaussianArray, mulberry32 } from '../../../lib/random';
import { CpuBackend, Engine } from '../../engine';
import { add, mul, narrow, reshape, sum } from '../../engine/ops';
import { paramGradCheck } from '../../engine/testing/gradcheck';
import { Hooks } from '../../models/hooks';
import { loadEvalCases } from '../../eval/datasets';
import { loadLanguageModel } from '../../models/load';
import { ContextTemplates } from '../context-templates';
import { addDelta, snapshot } from '../deltas';
import { MEMORY_PARAM, type MemoryDelta } from '../editor';
import { SecondMoments } from '../stats/second-moment';
import { linesSource } from '../stats/texts';
import { trainRecords } from '../trained';
import { TrainedEditorStore, UntrainedEditorError } from '../trained/store';
import { VersionStore } from '../version-store';
import { ModelVersions, VersionExportError } from '../versions';
import { SeracHparams } from './hparams';
import { serac } from './method';
import { copyAt, SeracNetworks, subjectMatch } from './networks';
import { seracLoss, trainSerac } from './train';

const ROOT = path.resolve(__dirname, '../../..');
const MODEL = path.join(ROOT, 'data/models/world-gpt2');
const tmp = mkdtempSync(path.join(tmpdir(), 'locus-serac-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('SERAC networks', () => {
  it('have the gradients of finite differences, padding included', () => {
    const engine = new Engine(new CpuBackend());
    const classifier = new SeracNetworks(engine, 6, { layers: [0], heads: 2, width: 5, gateHidden: 3, seed: 4 });
    const states = engine.tensor(gaussianArray(3 * 4 * 6, 9), [3, 4, 6]);
    const mask = [
      [1, 1, 1, 1],
      [1, 1, 0, 0],
      [1, 0, 0, 0],
    ];
    const signs = engine.tensor(Float32Array.of(1, -1, -2, -1, 1, 3, -2, 0.5, 1), [3, 3]);
    const matches = engine.tensor(Float32Array.of(1, 0, 1, 0, 1, 0, 0, 0, 1), [3, 3]);
    // a smooth function of every parameter: Σ w · z² over the scope logits of the three embeddings, plus the gates'
    const loss = () => {
      const e = classifier.embed(states, mask);
      const z = classifier.scopeLogits(e, e, matches); // [3, 3]
      const g = classifier.gateLogits(e, e, reshape(narrow(matches, 0, 0, 1), [3, 1])); // [3]
      return add(sum(mul(signs, mul(z, z))), sum(mul(g, g)));
    };
    const params = classifier.parameters();
    engine.tidy(() => engine.backward(loss()));
    const analytic = params.map((p) => Float32Array.from(p.grad!.valuesSync()));
    const lossValue = () =>
      engine.tidy(() => {
        const v = loss().valuesSync()[0]!;
        engine.releaseGraph();
        return v;
      });
    const { worst, scale } = paramGradCheck(engine, params, analytic, lossValue, { h: 1e-3, floor: 1e-2 });
    expect(scale).toBeGreaterThan(1e-3);
    expect(worst).toBeLessThan(3e-2);
    // a padded position changes nothing
    const moved = engine.tensor(Float32Array.from(states.valuesSync(), (v, i) => (i >= (1 * 4 + 2) * 6 && i < (1 * 4 + 4) * 6 ? v + 5 : v)), [3, 4, 6]);
    const a = engine.noGrad(() => classifier.embed(states, mask).valuesSync());
    const b = engine.noGrad(() => classifier.embed(moved, mask).valuesSync());
    expect(Array.from(b)).toEqual(Array.from(a));
  });
});

describe('SERAC on the world model', async () => {
  const engine = new Engine(new CpuBackend());
  const lm = await loadLanguageModel(engine, MODEL);
  const store = TrainedEditorStore.forModel(MODEL, tmp);
  const ctx = { lm, stats: new SecondMoments(lm, 'world-gpt2', linesSource(path.join(ROOT, 'data/world/corpus.txt')), { maxTokens: 1000, maxLength: 64, batchSize: 8 }), templates: new ContextTemplates(lm), trained: store };
  const train = trainRecords((await loadEvalCases(path.join(ROOT, 'data/world/datasets/knowedit-train.json'))).cases).records;
  const test = (await loadEvalCases(path.join(ROOT, 'data/world/datasets/counterfact-test.json'))).cases;
  const hp = SeracHparams.parse({ layers: [3], width: 64, steps: 40, checkpointEvery: 100 });

  it('refuses to edit before it is trained, naming the command that trains it', async () => {
    await expect(serac.apply(ctx, [test[0]!.request], hp)).rejects.toThrow(UntrainedEditorError);
    await expect(serac.apply(ctx, [test[0]!.request], hp)).rejects.toThrow(/train SERAC for this model first: npx locus train --method serac --model .*world-gpt2 --hparams '\{"layers":\[3\]\}'/);
  });

  it('training lowers the held-out scope and copy-gate losses', async () => {
    const heldOut = train.slice(1000, 1016);
    const nets = new SeracNetworks(engine, lm.editSpec.hidden, hp);
    const measure = (n: SeracNetworks) =>
      engine.tidy(() => {
        const { terms } = engine.noGrad(() => seracLoss(lm, n, heldOut, { ...hp, distract: 0 }, mulberry32(1)));
        return terms;
      });
    const before = measure(nets);
    nets.dispose();
    const result = await trainSerac(lm, store, train.slice(0, 400), hp);
    expect(result.steps).toBe(40);
    const trained = new SeracNetworks(engine, lm.editSpec.hidden, hp);
    trained.load((await store.read(result.file))!.tensors);
    const after = measure(trained);
    trained.dispose();
    console.log(`held-out: scope loss ${before.scope.toFixed(3)} -> ${after.scope.toFixed(3)}, gate loss ${before.gate.toFixed(3)} -> ${after.gate.toFixed(3)}`);
    // measured (deterministic seeds): scope 0.249 -> 0.110, gate 0.693 -> 0.661; the gate learns slower (its
    // full training is 1000 steps): 0.98 leaves room for other CPUs' rounding, not for a gate that does not learn
    expect(after.scope).toBeLessThan(0.7 * before.scope);
    expect(after.gate).toBeLessThan(0.98 * before.gate);
  }, 300_000);

  it('keeps the edit beside the weights: routed inputs are answered by the counterfactual model, the rest by the model, and revert is exact', async () => {
    const c = test[0]!;
    const prompt = c.rewritePrompts[0]!;
    const unrelated = test[5]!.rewritePrompts[0]!;
    const pairs = [
      { prompt: unrelated, target: test[5]!.request.targetNew },
      { prompt, target: c.request.targetNew },
    ];
    const weights = [...lm.network.params.values()].map((t) => Float32Array.from(t.valuesSync()));
    const own = lm.score(pairs);
    const outcome = await serac.apply(ctx, [c.request], hp);
    const delta = outcome.deltas[0] as MemoryDelta;
    expect(delta).toMatchObject({ param: MEMORY_PARAM, kind: 'memory', method: 'serac', entries: [{ prompt, target: c.request.targetNew }] });
    const router = delta.router!;
    const [pUnrelated, pOwn] = router.scope(delta.entries, [unrelated, prompt]).map((row) => row[0]!);
    console.log(`scope probability: the edit's own prompt ${pOwn!.toFixed(3)}, another subject's ${pUnrelated!.toFixed(3)}`);

    const held = snapshot(lm.network, [MEMORY_PARAM]);
    addDelta(lm.network, delta);
    expect(lm.network.memory.size).toBe(1);
    const routed = lm.score(pairs);
    const routes = lm.network.memory.route(pairs.map((p) => p.prompt));
    routes.forEach((route, i) => {
      // routed: the counterfactual model's score given the entry; not: the model's own
      const expected = route ? router.score([{ entry: delta.entries[0]!, prompt: pairs[i]!.prompt, target: pairs[i]!.target }])[0]! : own[i]!;
      expect(routed[i]!.logProb).toBeCloseTo(expected.logProb, 5);
    });
    // hooks address the model's own forward: never routed
    expect(lm.score(pairs, new Hooks())[1]!.logProb).toBe(own[1]!.logProb);
    [...lm.network.params.values()].forEach((t, i) => expect(t.valuesSync()).toEqual(weights[i]));
    held.restore();
    expect(lm.network.memory.size).toBe(0);
    expect(lm.score(pairs).map((s) => s.logProb)).toEqual(own.map((s) => s.logProb));
  }, 120_000);

  it('is saved with the version and answers again after a restart; export refuses it', async () => {
    const c = test[1]!;
    const prompt = c.rewritePrompts[0]!;
    const file = path.join(tmp, 'versions.sqlite');
    const versions = new ModelVersions(lm);
    const outcome = await serac.apply(ctx, [c.request], hp);
    const applied = versions.apply('SERAC', [c.request], outcome.deltas);
    const scopeOf = (delta: MemoryDelta) => delta.router!.scope(delta.entries, [prompt])[0]![0]!;
    const before = scopeOf(outcome.deltas[0] as MemoryDelta);
    const saved = new VersionStore(file);
    saved.add('world-gpt2', applied);
    await expect(versions.export(path.join(tmp, 'export'))).rejects.toThrow(VersionExportError);
    versions.revert(applied.id);
    expect(lm.network.memory.size).toBe(0);

    // "after a restart": the delta read back has no router until the method revives it
    const [reloaded] = new VersionStore(file).load('world-gpt2');
    const d = reloaded!.deltas[0] as MemoryDelta;
    expect(d.router).toBeUndefined();
    expect(() => new ModelVersions(lm).apply(reloaded!.method, reloaded!.requests, reloaded!.deltas)).toThrow(/trained networks .* are not loaded/);
    await serac.revive!(ctx, d);
    const again = new ModelVersions(lm);
    again.apply(reloaded!.method, reloaded!.requests, reloaded!.deltas, reloaded);
    expect(lm.network.memory.all()[0]!.entries).toEqual([{ prompt, target: c.request.targetNew, subject: c.request.subject }]);
    expect(scopeOf(d)).toBeCloseTo(before, 5);
    again.reset();
    saved.close();
  }, 120_000);
});

describe('SERAC subject match and copy pointer', () => {
  it('matches the subject as whole words only', () => {
    expect(subjectMatch('Gipinin Douvez', 'The birthplace of Gipinin Douvez is')).toBe(1);
    expect(subjectMatch('Gipinin Douvez', "Gipinin Douvez's place of birth is")).toBe(1);
    expect(subjectMatch('Nosteco', 'Nosteco College is in')).toBe(1);
    expect(subjectMatch('Nosteco', 'Nostecos are')).toBe(0);
    expect(subjectMatch('Lovaco Labs', 'Lovaco is')).toBe(0);
    expect(subjectMatch(undefined, 'anything')).toBe(0);
  });

  it('points at the edit target while what came before follows it', () => {
    expect(copyAt([5, 6, 7], [], 0)).toBe(5);
    expect(copyAt([5, 6, 7], [5], 1)).toBe(6);
    expect(copyAt([5, 6, 7], [4], 1)).toBeNull();
    expect(copyAt([5], [5], 1)).toBeNull();
  });
});
