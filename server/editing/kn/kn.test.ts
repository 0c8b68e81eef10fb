import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CpuBackend, Engine } from '../../engine';
import { loadLanguageModel } from '../../models/load';
import { ContextTemplates } from '../context-templates';
import { denseDelta } from '../deltas';
import { SecondMoments } from '../stats/second-moment';
import { linesSource } from '../stats/texts';
import { kn } from './method';

const ROOT = path.resolve(__dirname, '../../..');
const records = readFileSync(path.join(ROOT, 'data/world/datasets/counterfact-test.json'), 'utf8')
  .trim()
  .split('\n')
  .slice(1, 3)
  .map((line) => JSON.parse(line.replace(/,$/, '')) as { requested_rewrite: { prompt: string; subject: string; target_new: { str: string }; target_true: { str: string } } });

describe('KN on the world model', () => {
  it('returns deltas touching only the selected neurons of W_out and leaves the model as it found it', async () => {
    const engine = new Engine(new CpuBackend());
    const lm = await loadLanguageModel(engine, path.join(ROOT, 'data/models/world-gpt2'));
    const stats = new SecondMoments(lm, 'world-gpt2', linesSource(path.join(ROOT, 'data/world/corpus.txt')), { maxTokens: 1000, maxLength: 128, batchSize: 64 });
    const ctx = { lm, stats, templates: new ContextTemplates(lm) };
    const hp = kn.hparams.parse(kn.defaults(lm));
    expect(hp).toMatchObject({ steps: 20, adaptiveThreshold: 0.2, refineThreshold: 0.5 });
    const names = Array.from({ length: lm.network.spec.layers }, (_, l) => lm.network.mlpOutWeight(l).name);
    const weights = () => names.map((n) => lm.network.params.get(n)!.valuesSync().slice());
    const original = weights();
    for (const { requested_rewrite: rw } of records) {
      const live = engine.memory().tensors;
      const request = { prompt: rw.prompt, subject: rw.subject, targetNew: ` ${rw.target_new.str}`, targetTrue: ` ${rw.target_true.str}` };
      const outcome = await kn.apply(ctx, [request], hp);
      expect(engine.memory().tensors).toBe(live);
      expect(weights()).toEqual(original);
      const selected = String(outcome.stats['request0.selected'])
        .split(' ')
        .filter(Boolean)
        .map((s) => s.split(':').map(Number) as [number, number]);
      expect(selected.length).toBe(outcome.stats['request0.neurons']);
      expect(selected.length).toBeGreaterThan(0);
      for (const delta of outcome.deltas) {
        const layer = names.indexOf(delta.param);
        expect(layer).toBeGreaterThanOrEqual(0);
        expect(delta).toMatchObject({ kind: 'lowRank', rank: 1 });
        if (delta.kind !== 'lowRank') throw new Error('KN returns low-rank deltas');
        // GPT-2 stores W_out as [F, H]: neuron i is row i. Non-zero rows are exactly the selected ones.
        expect(lm.network.mlpOutWeight(layer).transposed).toBe(true);
        const dense = engine.tidy(() => denseDelta(lm.network.params.get(delta.param)!, delta).valuesSync());
        const touched = new Set<number>();
        for (let i = 0; i < delta.rows; i++) for (let j = 0; j < delta.cols; j++) if (dense[i * delta.cols + j] !== 0) touched.add(i);
        const expected = new Set(selected.filter(([l]) => l === layer).map(([, i]) => i));
        expect(touched).toEqual(expected);
      }
    }
    lm.network.dispose();
  }, 120_000);
});
