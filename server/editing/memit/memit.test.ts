import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CpuBackend, Engine } from '../../engine';
import { loadLanguageModel } from '../../models/load';
import { ContextTemplates } from '../context-templates';
import { addDelta } from '../deltas';
import { SecondMoments } from '../stats/second-moment';
import { linesSource } from '../stats/texts';
import { memit } from './method';

const ROOT = path.resolve(__dirname, '../../..');
const records = readFileSync(path.join(ROOT, 'data/world/datasets/counterfact-test.json'), 'utf8')
  .trim()
  .split('\n')
  .slice(1, 6)
  .map((line) => JSON.parse(line.replace(/,$/, '')) as { requested_rewrite: { prompt: string; subject: string; target_new: { str: string } } });
const requests = records.map(({ requested_rewrite: rw }) => ({ prompt: rw.prompt, subject: rw.subject, targetNew: ` ${rw.target_new.str}` }));

describe('MEMIT on the world model', () => {
  it('rewrites a batch of five facts with rank-5 deltas on three layers and leaves the model as it found it', async () => {
    const engine = new Engine(new CpuBackend());
    const lm = await loadLanguageModel(engine, path.join(ROOT, 'data/models/world-gpt2'));
    const stats = new SecondMoments(lm, 'world-gpt2', linesSource(path.join(ROOT, 'data/world/corpus.txt')), { maxTokens: 8000, maxLength: 128, batchSize: 64 });
    const ctx = { lm, stats, templates: new ContextTemplates(lm) };
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
});
