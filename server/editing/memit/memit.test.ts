import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CpuBackend, Engine } from '../../engine';
import { loadLanguageModel } from '../../models/load';
import { ContextTemplates } from '../context-templates';
import { addDelta } from '../deltas';
import { SecondMoments } from '../stats/second-moment';
import { linesSource } from '../stats/texts';
import { computeValue, computeValues, type ValueResult } from '../rome/compute-value';
import { templatedPrompts } from '../rome/compute-key';
import { cholesky } from '../linalg';
import { memit } from './method';
import { adjustedKeys } from './update';

const ROOT = path.resolve(__dirname, '../../..');
const records = readFileSync(path.join(ROOT, 'data/world/datasets/counterfact-test.json'), 'utf8')
  .trim()
  .split('\n')
  .slice(1, 6)
  .map((line) => JSON.parse(line.replace(/,$/, '')) as { requested_rewrite: { prompt: string; subject: string; target_new: { str: string } } });
const requests = records.map(({ requested_rewrite: rw }) => ({ prompt: rw.prompt, subject: rw.subject, targetNew: ` ${rw.target_new.str}` }));

/** The world model on the CPU with its second moments (8,000 tokens of its corpus) and templates. */
async function openWorld() {
  const engine = new Engine(new CpuBackend());
  const lm = await loadLanguageModel(engine, path.join(ROOT, 'data/models/world-gpt2'));
  const stats = new SecondMoments(lm, 'world-gpt2', linesSource(path.join(ROOT, 'data/world/corpus.txt')), { maxTokens: 8000, maxLength: 128, batchSize: 64 });
  return { engine, lm, stats, ctx: { lm, stats, templates: new ContextTemplates(lm) } };
}

/** Each value as `reference` optimised it: same steps and v_init, v* within 1e-4 of its scale, loss to 4 places. */
function expectSameValues(values: readonly ValueResult[], reference: readonly ValueResult[]) {
  for (const [i, r] of reference.entries()) {
    const v = values[i]!;
    expect(v.steps).toBe(r.steps);
    expect(v.initial).toEqual(r.initial);
    const scale = Math.max(...r.value.map(Math.abs));
    expect(Math.max(...r.value.map((x, t) => Math.abs(x - v.value[t]!))) / scale).toBeLessThan(1e-4);
    expect(v.loss).toBeCloseTo(r.loss, 4);
  }
}

describe('MEMIT on the world model', () => {
  it('rewrites a batch of five facts with rank-5 deltas on three layers and leaves the model as it found it', async () => {
    const { engine, lm, stats, ctx } = await openWorld();
    // The world model looks facts up at the prompt's last token (see its causal trace), so edit there.
    const hp = memit.hparams.parse({ ...memit.defaults(lm), factToken: 'last', useContextTemplates: false });
    expect(hp.layers).toEqual([0, 1, 2]);
    const top1 = (prompt: string) => lm.topK([prompt], 1)[0]![0]!.id;
    const prompts = requests.map((r) => r.prompt.replace('{}', r.subject));
    const before = prompts.map(top1);
    const names = hp.layers.map((l) => lm.network.mlpOutWeight(l).name);
    const weights = () => names.map((n) => lm.network.params.get(n)!.valuesSync().slice());
    const original = weights();
    await stats.factor(0); // statistics are one-off: count live tensors after them
    await stats.factor(1);
    await stats.factor(2);
    const live = engine.memory().tensors;
    const outcome = await memit.apply(ctx, requests, hp);
    expect(engine.memory().tensors).toBe(live);
    expect(weights()).toEqual(original);
    expect(outcome.deltas.map((d) => d.param)).toEqual(names);
    for (const d of outcome.deltas) expect(d).toMatchObject({ kind: 'lowRank', rank: 5 });
    for (const d of outcome.deltas) addDelta(lm.network, d);
    for (const [i, r] of requests.entries()) expect(top1(prompts[i]!)).toBe(lm.tokenizer.encode(r.targetNew, { addSpecialTokens: false }).ids[0]);
    for (const d of [...outcome.deltas].reverse()) addDelta(lm.network, d, -1);
    expect(prompts.map(top1)).toEqual(before);
    lm.network.dispose();
  }, 180_000);

  it('optimises the values of a batch jointly, as each would be alone', async () => {
    const { engine, lm, ctx } = await openWorld();
    // context templates of several lengths, so the joint batch pads, and earlyStopLoss high enough that
    // requests stop at different steps (a stopped request must keep its δ while the others go on)
    const templates = ['{}', 'Some say that. {}', 'It is known. Here is a longer context. {}'];
    const hp = { ...memit.hparams.parse({ ...memit.defaults(lm), factToken: 'last' }), layer: 2, keyContexts: 'templates' as const, earlyStopLoss: 0.5 };
    const items = requests.map((request, index) => ({ index, request, prompts: templatedPrompts(lm, request, templates, 'last') }));
    const live = engine.memory().tensors;
    const joint = await computeValues(ctx, items, hp, 2);
    expect(engine.memory().tensors).toBe(live);
    // as a GPU backend runs it (backward recorded before the loss is read): the same values and steps
    Object.defineProperty(engine.backend, 'queued', { value: true, configurable: true });
    const queued = await computeValues(ctx, items, hp, 2).finally(() => delete (engine.backend as { queued?: boolean }).queued);
    expect(engine.memory().tensors).toBe(live);
    expect(queued.map((v) => [v.steps, v.loss])).toEqual(joint.map((v) => [v.steps, v.loss]));
    expect(queued.map((v) => v.value)).toEqual(joint.map((v) => v.value));
    const alone = [];
    for (const item of items) alone.push(await computeValue(ctx, item.index, item.request, item.prompts, hp, 2));
    expect(new Set(alone.map((v) => v.steps)).size).toBeGreaterThan(1);
    expectSameValues(joint, alone);
    lm.network.dispose();
  }, 180_000);

  it('optimises the same values when later steps run only the tokens from each fact on, the earlier ones cached', async () => {
    const { engine, lm, ctx } = await openWorld();
    // at the subject's last token (tokens after it in every prompt), templates of several lengths, and
    // requests stopping at different steps (the cache then holds fewer sequences)
    const templates = ['{}', 'Some say that. {}', 'It is known. Here is a longer context. {}'];
    const hp = { ...memit.hparams.parse({ ...memit.defaults(lm), factToken: 'subject_last' }), layer: 2, keyContexts: 'templates' as const, earlyStopLoss: 4 };
    const items = requests.map((request, index) => ({ index, request, prompts: templatedPrompts(lm, request, templates, 'subject_last') }));
    expect(items.some((item) => item.prompts.some((p) => p.factIndex < p.ids.length - 1))).toBe(true);
    const live = engine.memory().tensors;
    const cached = await computeValues(ctx, items, hp, 2);
    expect(engine.memory().tensors).toBe(live);
    const whole = await computeValues(ctx, items, hp, 2, { reusePrefix: false });
    expect(new Set(whole.map((v) => v.steps)).size).toBeGreaterThan(1);
    expectSameValues(cached, whole);
    lm.network.dispose();
  }, 180_000);
});

describe("MEMIT's adjusted keys", () => {
  it('solve (λ C + K Kᵀ) adj = K by the Woodbury identity', () => {
    const [f, n, lambda] = [12, 7, 2.5];
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    // C = A Aᵀ + I (positive definite); seven keys
    const a = Array.from({ length: f * f }, rand);
    const c = new Float64Array(f * f);
    for (let i = 0; i < f; i++) for (let j = 0; j < f; j++) for (let t = 0; t < f; t++) c[i * f + j]! += a[i * f + t]! * a[j * f + t]! + (i === j && t === 0 ? 1 : 0);
    const keys = Array.from({ length: n }, () => Float64Array.from({ length: f }, rand));
    const adj = adjustedKeys(cholesky(c, f), f, keys, lambda);
    expect(adj).toHaveLength(n);
    let worst = 0;
    for (let j = 0; j < n; j++)
      for (let i = 0; i < f; i++) {
        // row i of (λ C + K Kᵀ) adj_j against k_j[i]
        let v = 0;
        for (let t = 0; t < f; t++) {
          let m = lambda * c[i * f + t]!;
          for (const k of keys) m += k[i]! * k[t]!;
          v += m * adj[j]![t]!;
        }
        worst = Math.max(worst, Math.abs(v - keys[j]![i]!));
      }
    expect(worst).toBeLessThan(1e-9);
  });
});
