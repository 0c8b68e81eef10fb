import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CpuBackend, Engine } from '../../engine';
import { loadLanguageModel } from '../../models/load';
import { tempDir } from '../../jobs/testing';
import { ContextTemplates } from '../context-templates';
import { SecondMoments } from '../stats/second-moment';
import { linesSource } from '../stats/texts';
import { VersionStore } from '../version-store';
import { ModelVersions } from '../versions';
import { tpatcher } from './method';

const ROOT = path.resolve(__dirname, '../../..');
type Record = { requested_rewrite: { prompt: string; subject: string; target_new: { str: string } }; neighborhood_prompts: string[]; paraphrase_prompts: string[] };
const records = readFileSync(path.join(ROOT, 'data/world/datasets/counterfact-test.json'), 'utf8')
  .trim()
  .split('\n')
  .slice(1, 4)
  .map((line) => JSON.parse(line.replace(/,$/, '')) as Record);
const requests = records.map(({ requested_rewrite: rw }) => ({ prompt: rw.prompt, subject: rw.subject, targetNew: ` ${rw.target_new.str}` }));

async function setup() {
  const engine = new Engine(new CpuBackend());
  const lm = await loadLanguageModel(engine, path.join(ROOT, 'data/models/world-gpt2'));
  const stats = new SecondMoments(lm, 'world-gpt2', linesSource(path.join(ROOT, 'data/world/corpus.txt')), { maxTokens: 1000, maxLength: 128, batchSize: 64 });
  const ctx = { lm, stats, templates: new ContextTemplates(lm) };
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
    console.log(outcome.stats);

    const versions = new ModelVersions(lm.network);
    const applied = versions.apply('T-Patcher', [request], outcome.deltas);
    const after = { target: p(prompt, request.targetNew), probe: logits(probe) };
    console.log(before.target, after.target, maxDiff(after.probe, before.probe));
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
      const restored = new ModelVersions(lm.network);
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
