import { worldEditContext, worldRecords as records, worldRequests as requests } from '../testing/world';
import { describe, expect, it } from 'vitest';
import { ModelVersions } from '../versions';
import { calinet } from './method';


async function setup() {
  const { engine, lm, ctx } = await worldEditContext();
  const p = (prompt: string, target: string) => Math.exp(lm.score([{ prompt, target }])[0]!.tokens[0]!.logProb);
  const logits = (prompt: string) => engine.noGrad(() => engine.tidy(() => lm.forwardPadded([lm.encode(prompt)], 'right').logits.valuesSync() as Float32Array));
  const top1 = (prompt: string) => lm.topK([prompt], 1)[0]![0]!.id;
  return { engine, lm, ctx, p, logits, top1 };
}

const filled = (r: (typeof requests)[number]) => r.prompt.replace('{}', r.subject);

describe('CaliNET on the world model', () => {
  it('calibrates one fact with slots at the last two layers: p(new target) > 0.5, an unrelated probe keeps its answer; the model untouched; revert exact', async () => {
    const { engine, lm, ctx, p, logits, top1 } = await setup();
    const request = requests[0]!;
    const probe = records[1]!.neighborhood_prompts[0]!;
    const before = { target: p(filled(request), request.targetNew), prompt: logits(filled(request)), probe: logits(probe), probeTop: top1(probe) };
    expect(before.target).toBeLessThan(0.5);
    const hp = calinet.hparams.parse(calinet.defaults(lm));
    expect(hp).toMatchObject({ layers: [4, 5], slots: 64, lr: 1e-2 });
    const live = engine.memory().tensors;
    const outcome = await calinet.apply(ctx, [request], hp);
    expect(engine.memory().tensors).toBe(live);
    expect(logits(filled(request))).toEqual(before.prompt);
    console.log(outcome.stats);
    expect(outcome.deltas.map((d) => [d.param, d.kind])).toEqual([
      ['ffn_slots.4', 'ffnSlots'],
      ['ffn_slots.5', 'ffnSlots'],
    ]);
    for (const d of outcome.deltas) {
      if (d.kind !== 'ffnSlots') throw new Error('CaliNET returns ffnSlots deltas');
      expect(d).toMatchObject({ count: 64, width: 256, activation: 'relu' });
      expect(d.bias.every((b) => b === 0)).toBe(true);
    }
    const versions = new ModelVersions(lm);
    const edit = versions.apply('CaliNET', [request], outcome.deltas);
    const after = p(filled(request), request.targetNew);
    console.log(before.target, after, top1(probe), before.probeTop);
    expect(after).toBeGreaterThan(0.5);
    expect(top1(probe)).toBe(before.probeTop);
    versions.revert(edit.id);
    expect(logits(filled(request))).toEqual(before.prompt);
    expect(logits(probe)).toEqual(before.probe);
    lm.network.dispose();
  }, 300_000);

  it('batches: one set of slots learns three facts at once', async () => {
    const { lm, ctx, p } = await setup();
    const outcome = await calinet.apply(ctx, requests, calinet.hparams.parse({ ...calinet.defaults(lm), maxSteps: 200 }));
    expect(outcome.deltas).toHaveLength(2);
    const versions = new ModelVersions(lm);
    versions.apply('CaliNET', requests, outcome.deltas);
    for (const r of requests) expect(p(filled(r), r.targetNew)).toBeGreaterThan(0.5);
    versions.reset();
    lm.network.dispose();
  }, 300_000);

  it('refuses a layer the model lacks', async () => {
    const { lm, ctx } = await setup();
    await expect(calinet.apply(ctx, requests.slice(0, 1), calinet.hparams.parse({ layers: [6] }))).rejects.toThrow('CaliNET: layer 6 does not exist (the model has 6)');
    lm.network.dispose();
  });
});
