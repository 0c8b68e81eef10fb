/** The world model and a few of its CounterFact-format edits, as the editing methods' tests use them. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CpuBackend, Engine } from '../../engine';
import { loadLanguageModel } from '../../models/load';
import { ContextTemplates } from '../context-templates';
import { SecondMoments } from '../stats/second-moment';
import { linesSource } from '../stats/texts';

export const ROOT = path.resolve(__dirname, '../../..');

export type WorldRecord = {
  requested_rewrite: { prompt: string; subject: string; target_new: { str: string } };
  neighborhood_prompts: string[];
  paraphrase_prompts: string[];
};

/** Records 0-2 of data/world/datasets/counterfact-test.json (one record per line after the '['). */
export const worldRecords = readFileSync(path.join(ROOT, 'data/world/datasets/counterfact-test.json'), 'utf8')
  .trim()
  .split('\n')
  .slice(1, 4)
  .map((line) => JSON.parse(line.replace(/,$/, '')) as WorldRecord);

export const worldRequests = worldRecords.map(({ requested_rewrite: rw }) => ({ prompt: rw.prompt, subject: rw.subject, targetNew: ` ${rw.target_new.str}` }));

/** A fresh world model on the CPU with an edit context (small statistics, model-made templates). */
export async function worldEditContext() {
  const engine = new Engine(new CpuBackend());
  const lm = await loadLanguageModel(engine, path.join(ROOT, 'data/models/world-gpt2'));
  const stats = new SecondMoments(lm, 'world-gpt2', linesSource(path.join(ROOT, 'data/world/corpus.txt')), { maxTokens: 1000, maxLength: 128, batchSize: 64 });
  return { engine, lm, ctx: { lm, stats, templates: new ContextTemplates(lm) } };
}
