import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CpuBackend, Engine } from '../../engine';
import { loadLanguageModel } from '../../models/load';
import { ContextTemplates } from '../context-templates';
import { addDelta } from '../deltas';
import { SecondMoments } from '../stats/second-moment';
import { linesSource } from '../stats/texts';
import { rome } from './method';

const ROOT = path.resolve(__dirname, '../../..');
const records = readFileSync(path.join(ROOT, 'data/world/datasets/counterfact-test.json'), 'utf8')
  .trim()
  .split('\n')
  .slice(1, 4)
  .map((line) => JSON.parse(line.replace(/,$/, '')) as { requested_rewrite: { prompt: string; subject: string; target_new: { str: string } }; neighborhood_prompts: string[] });

describe('ROME on the world model', () => {
  it('rewrites facts (rank-one deltas) and leaves the model as it found it', async () => {
    const engine = new Engine(new CpuBackend());
    const lm = await loadLanguageModel(engine, path.join(ROOT, 'data/models/world-gpt2'));
    const stats = new SecondMoments(lm, 'world-gpt2', linesSource(path.join(ROOT, 'data/world/corpus.txt')), { maxTokens: 8000, maxLength: 128, batchSize: 64 });
    const ctx = { lm, stats, templates: new ContextTemplates(lm) };
    // The world model looks facts up at the prompt's last token (see its causal trace), so edit there.
    const hp = rome.hparams.parse({ layer: 1, factToken: 'last', useContextTemplates: false });
    const top1 = (prompt: string) => lm.topK([prompt], 1)[0]![0]!.id;
    for (const record of records) {
      const rw = record.requested_rewrite;
      const prompt = rw.prompt.replace('{}', rw.subject);
      const target = lm.tokenizer.encode(` ${rw.target_new.str}`, { addSpecialTokens: false }).ids[0];
      const before = top1(prompt);
      expect(before).not.toBe(target);
      const weights = lm.network.params.get(lm.network.mlpOutWeight(1).name)!.valuesSync().slice();
      const live = engine.memory().tensors;
      const outcome = await rome.apply(ctx, [{ prompt: rw.prompt, subject: rw.subject, targetNew: ` ${rw.target_new.str}` }], hp);
      expect(engine.memory().tensors).toBe(live);
      expect(lm.network.params.get(lm.network.mlpOutWeight(1).name)!.valuesSync()).toEqual(weights); // untouched
      expect(outcome.deltas).toHaveLength(1);
      expect(outcome.deltas[0]).toMatchObject({ kind: 'lowRank', rank: 1 });
      addDelta(lm.network, outcome.deltas[0]!);
      expect(top1(prompt)).toBe(target);
      addDelta(lm.network, outcome.deltas[0]!, -1);
      expect(top1(prompt)).toBe(before);
    }
    lm.network.dispose();
  }, 120_000);
});
