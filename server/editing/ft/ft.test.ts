import { worldEditContext, worldRequests as requests } from '../testing/world';
import { describe, expect, it } from 'vitest';
import { addDelta } from '../deltas';
import { ftL, ftM } from './method';


async function setup() {
  // FT needs no statistics; the context still carries them.
  const { engine, lm, ctx } = await worldEditContext();
  const top1 = (prompt: string) => lm.topK([prompt], 1)[0]![0]!.id;
  const firstTarget = (target: string) => lm.tokenizer.encode(target, { addSpecialTokens: false }).ids[0];
  const weightName = lm.network.mlpOutWeight(1).name;
  const weights = () => lm.network.params.get(weightName)!.valuesSync().slice();
  return { engine, lm, ctx, top1, firstTarget, weights, weightName };
}

describe('FT on the world model', () => {
  it('FT-M without a constraint makes every edited prompt predict its target (one batch of three, 50 steps) and leaves the model as it found it', async () => {
    const { engine, lm, ctx, top1, firstTarget, weights, weightName } = await setup();
    const before = weights();
    const live = engine.memory().tensors;
    const outcome = await ftM.apply(ctx, requests, ftM.hparams.parse({ layer: 1, normConstraint: null, numSteps: 50 }));
    expect(engine.memory().tensors).toBe(live);
    expect(weights()).toEqual(before);
    expect(outcome.deltas).toHaveLength(1);
    expect(outcome.deltas[0]).toMatchObject({ param: weightName, kind: 'dense' });
    const original = requests.map((r) => top1(r.prompt.replace('{}', r.subject)));
    addDelta(lm.network, outcome.deltas[0]!);
    for (const r of requests) expect(top1(r.prompt.replace('{}', r.subject))).toBe(firstTarget(r.targetNew));
    addDelta(lm.network, outcome.deltas[0]!, -1);
    expect(requests.map((r) => top1(r.prompt.replace('{}', r.subject)))).toEqual(original);
    lm.network.dispose();
  }, 120_000);

  it('FT-L keeps ||ΔW||∞ within ε and leaves the model as it found it', async () => {
    const { engine, lm, ctx, weights } = await setup();
    const before = weights();
    const live = engine.memory().tensors;
    const hp = ftL.hparams.parse({ layer: 1 });
    expect(hp).toMatchObject({ lr: 5e-4, numSteps: 25, normConstraint: 5e-4, objective: 'prompt_last' });
    const outcome = await ftL.apply(ctx, requests.slice(0, 1), hp);
    expect(engine.memory().tensors).toBe(live);
    expect(weights()).toEqual(before);
    const delta = outcome.deltas[0]!;
    if (delta.kind !== 'dense') throw new Error('FT returns a dense delta');
    const maxAbs = delta.values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(maxAbs).toBeGreaterThan(0);
    expect(maxAbs).toBeLessThanOrEqual(5e-4 * (1 + 1e-6));
    lm.network.dispose();
  }, 120_000);
});
