import path from 'node:path';
import { worldEditContext, worldRecords as records, worldRequests as requests } from '../testing/world';
import { describe, expect, it } from 'vitest';
import { CpuBackend, Engine } from '../../engine';
import { add } from '../../engine/ops';
import { gradCheck } from '../../engine/testing/gradcheck';
import { tempDir } from '../../jobs/testing';
import { VersionStore } from '../version-store';
import { ModelVersions } from '../versions';
import { patchLosses, tpatcher } from './method';


async function setup() {
  const { engine, lm, ctx } = await worldEditContext();
  /** p(first token of target | prompt) */
  const p = (prompt: string, target: string) => Math.exp(lm.score([{ prompt, target }])[0]!.tokens[0]!.logProb);
  const logits = (prompt: string) => engine.noGrad(() => engine.tidy(() => lm.forwardPadded([lm.encode(prompt)], 'right').logits.valuesSync() as Float32Array));
  return { engine, lm, ctx, p, logits };
}

describe('T-Patcher on the world model', () => {
  it('patches one fact: p(new target) > 0.5, an unrelated probe unchanged, the model untouched by apply; the patch survives the version store and reverts exactly', async () => {
    const { engine, lm, ctx, p, logits } = await setup();
    const request = requests[0]!;
    const prompt = request.prompt.replace('{}', request.subject);
    const probe = records[1]!.neighborhood_prompts[0]!;
    const before = { target: p(prompt, request.targetNew), probe: logits(probe), prompt: logits(prompt) };
    expect(before.target).toBeLessThan(0.5);
    const live = engine.memory().tensors;
    const hp = tpatcher.hparams.parse(tpatcher.defaults(lm));
    expect(hp).toMatchObject({ layer: 5, maxPatches: 5, lr: 1e-2, activation: 'gelu', memoryLossWeight: 10 });
    const outcome = await tpatcher.apply(ctx, [request], hp);
    expect(engine.memory().tensors).toBe(live);
    expect(logits(prompt)).toEqual(before.prompt);
    expect(outcome.deltas).toHaveLength(1);
    const delta = outcome.deltas[0]!;
    if (delta.kind !== 'ffnSlots') throw new Error('T-Patcher returns an ffnSlots delta');
    expect(delta).toMatchObject({ param: 'ffn_slots.5', layer: 5, width: 256, activation: 'gelu' });
    expect(delta.count).toBeGreaterThanOrEqual(1);
    expect(delta.count).toBeLessThanOrEqual(5);

    const versions = new ModelVersions(lm);
    const applied = versions.apply('T-Patcher', [request], outcome.deltas);
    const after = { target: p(prompt, request.targetNew), probe: logits(probe) };
    expect(after.target).toBeGreaterThan(0.5);
    expect(maxDiff(after.probe, before.probe)).toBeLessThan(0.05);
    expect(argmaxLast(after.probe, lm.network.spec.vocabSize)).toBe(argmaxLast(before.probe, lm.network.spec.vocabSize));

    // saved and loaded back (a restart): the same logits from a fresh version set
    const tmp = tempDir();
    try {
      const store = new VersionStore(path.join(tmp.dir, 'versions.sqlite'));
      store.add('world', applied);
      const edited = logits(prompt);
      versions.reset();
      expect(logits(prompt)).toEqual(before.prompt);
      const [loaded] = store.load('world');
      expect(loaded!.deltas).toEqual(outcome.deltas);
      const restored = new ModelVersions(lm);
      restored.apply(loaded!.method, loaded!.requests, loaded!.deltas, loaded);
      expect(logits(prompt)).toEqual(edited);
      await expect(restored.export(path.join(tmp.dir, 'export'))).rejects.toThrow(/edit 1 \(T-Patcher\) added key\/value slots beside the MLP of layer\(s\) 5.*revert it/);
      restored.revert(loaded!.id);
      expect(logits(prompt)).toEqual(before.prompt);
      expect(logits(probe)).toEqual(before.probe);
      store.close();
    } finally {
      tmp.remove();
    }
    lm.network.dispose();
  }, 300_000);
  it('batches with ReLU patches: three facts, one patch set; a probe whose patches stay below zero is bit-exactly unchanged', async () => {
    const { lm, ctx, p, logits } = await setup();
    const probe = records[0]!.neighborhood_prompts[1]!;
    const before = logits(probe);
    const hp = tpatcher.hparams.parse({ ...tpatcher.defaults(lm), activation: 'relu' });
    const outcome = await tpatcher.apply(ctx, requests, hp);
    const delta = outcome.deltas[0]!;
    if (delta.kind !== 'ffnSlots') throw new Error('T-Patcher returns an ffnSlots delta');
    expect(delta.activation).toBe('relu');
    expect(delta.count).toBeGreaterThanOrEqual(requests.length);
    const versions = new ModelVersions(lm);
    versions.apply('T-Patcher', requests, outcome.deltas);
    for (const r of requests) expect(p(r.prompt.replace('{}', r.subject), r.targetNew)).toBeGreaterThan(0.5);
    expect(logits(probe)).toEqual(before);
    versions.reset();
    lm.network.dispose();
  }, 300_000);

  it('edits sequentially: the second patch is trained with the first in place, both facts hold, and reverting the first keeps the second', async () => {
    const { lm, ctx, p } = await setup();
    const [a, b] = requests as [(typeof requests)[0], (typeof requests)[0]];
    const hp = tpatcher.hparams.parse(tpatcher.defaults(lm));
    const versions = new ModelVersions(lm);
    const first = versions.apply('T-Patcher', [a], (await tpatcher.apply(ctx, [a], hp)).deltas);
    const second = await tpatcher.apply(ctx, [b], hp);
    versions.apply('T-Patcher', [b], second.deltas);
    expect(lm.network.slots.at(5)).toHaveLength(2);
    const pa = p(a.prompt.replace('{}', a.subject), a.targetNew);
    const pb = p(b.prompt.replace('{}', b.subject), b.targetNew);
    expect(pa).toBeGreaterThan(0.5);
    expect(pb).toBeGreaterThan(0.5);
    versions.revert(first.id);
    expect(lm.network.slots.at(5)).toHaveLength(1);
    // GELU patches are not exactly zero below threshold: the first moved b's probability a little
    expect(p(b.prompt.replace('{}', b.subject), b.targetNew)).toBeCloseTo(pb, 3);
    expect(p(a.prompt.replace('{}', a.subject), a.targetNew)).toBeLessThan(0.5);
    // a fact the (patched) model already predicts needs no patch
    expect((await tpatcher.apply(ctx, [b], hp)).deltas).toEqual([]);
    versions.reset();
    lm.network.dispose();
  }, 300_000);

  it('refuses a prompt without {} and a layer the model lacks', async () => {
    const { lm, ctx } = await setup();
    await expect(tpatcher.apply(ctx, [{ ...requests[0]!, prompt: 'no subject here' }], tpatcher.hparams.parse(tpatcher.defaults(lm)))).rejects.toThrow(/T-Patcher: prompt "no subject here" has no \{\}/);
    await expect(tpatcher.apply(ctx, requests.slice(0, 1), tpatcher.hparams.parse({ layer: 6 }))).rejects.toThrow('T-Patcher: layer 6 does not exist (the model has 6)');
    lm.network.dispose();
  });
});

function maxDiff(a: Float32Array, b: Float32Array): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

function argmaxLast(logits: Float32Array, vocab: number): number {
  const row = logits.subarray(logits.length - vocab);
  let best = 0;
  for (let i = 1; i < vocab; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

describe('T-Patcher losses', () => {
  const engine = new Engine(new CpuBackend());

  it('activation and memory losses: gradients in the own inputs, memory, keys and bias match central differences', () => {
    // top-k over all 16 terms: a smaller k is piecewise (a step can change the selection)
    const hp = { actMargin: 0.5, memoryMargin1: 1, memoryMargin2: -1, memoryTopK: 16 };
    // own inputs [2, 4], memory [8, 4], keys [2, 4], bias [2]
    const result = gradCheck(
      engine,
      [{ shape: [2, 4] }, { shape: [8, 4] }, { shape: [2, 4] }, { shape: [2] }],
      (own, memory, keys, bias) => {
        const { act, memory: mem } = patchLosses(own!, memory!, keys!, bias!, hp);
        return add(act, mem);
      },
      { h: 3e-3 },
    );
    expect(result.scale).toBeGreaterThan(0.1);
    expect(result.maxRelError).toBeLessThan(1e-2);
  });

  it('memory loss keeps the k largest terms: values by hand for one patch and three memories', () => {
    // patch k = [1, 0], b = 0.5, own input [2, 0]: a = 2.5. Memories' pre-activations: 1.5, -0.5, 0.5.
    const { act, memory } = engine.tidy(() => {
      const losses = patchLosses(engine.tensor([2, 0], [1, 2]), engine.tensor([1, 7, -1, 7, 0, 7], [3, 2]), engine.tensor([1, 0], [1, 2]), engine.tensor([0.5], [1]), {
        actMargin: 1,
        memoryMargin1: 3,
        memoryMargin2: -3,
        memoryTopK: 2,
      });
      return { act: losses.act.valuesSync()[0]!, memory: losses.memory.valuesSync()[0]! };
    });
    expect(act).toBeCloseTo(Math.exp(1 - 2.5), 5);
    const above = (Math.exp(1.5 - 2.5 + 3) + Math.exp(0.5 - 2.5 + 3)) / 2;
    const below = (Math.exp(1.5 + 3) + Math.exp(0.5 + 3)) / 2;
    expect(memory).toBeCloseTo(above + below, 3);
  });
});
