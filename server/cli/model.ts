/** The model and the second-moment statistics the commands share. */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { SecondMoments, type StatsSource } from '../editing/stats/second-moment';
import { jsonSentencesSource, linesSource } from '../editing/stats/texts';
import { CpuBackend, Engine } from '../engine';
import type { LanguageModel } from '../models/lm';
import { loadLanguageModel } from '../models/load';
import { locusCacheDir } from '../models/registry';
import { UsageError } from './args';
import type { Progress } from './progress';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Throws a UsageError when --model names nothing on disk (checked before anything heavy runs). */
export function checkModelPath(location: string): void {
  if (!existsSync(location)) throw new UsageError(`--model ${location}: not found (a checkpoint folder with tokenizer.json, or a .gguf file)`);
}

/** Loads a checkpoint folder or a GGUF file on the CPU backend, showing the weights as they load. */
export async function loadModel(location: string, progress: Progress): Promise<LanguageModel> {
  checkModelPath(location);
  const started = performance.now();
  const lm = await loadLanguageModel(new Engine(new CpuBackend()), location, { onProgress: (done, total) => progress.update('loading weights', done, total) });
  progress.end();
  const { family, layers, hidden } = lm.network.spec;
  progress.log(`model ${location}: ${family}, ${layers} layers, hidden ${hidden} (${seconds(started)} s)`);
  return lm;
}

/**
 * Second moments of MLP keys (ROME's and MEMIT's C) over `maxTokens` of the source's text (default
 * 50,000), computed when a method first asks, cached under ${LOCUS_CACHE:-~/.cache/locus}/stats.
 */
export function secondMoments(lm: LanguageModel, location: string, source: StatsSource, maxTokens: number | undefined, progress: Progress): SecondMoments {
  const cacheDir = path.join(locusCacheDir(), 'stats');
  return new SecondMoments(lm, path.basename(location), source, { maxTokens: maxTokens ?? 50_000, maxLength: 128, batchSize: 64, cacheDir }, (e) => {
    if (e.type === 'stats') progress.update(`statistics of layer ${e.layer}`, e.tokens, e.total, 'tokens');
  });
}

/**
 * The text second moments are computed from: --stats-text when given (a .txt file, one sample per
 * line, or a folder of JSON files, their English sentences); else the world corpus
 * (data/world/corpus.txt) for a checkpoint folder, the sentences of ../shared/data/editing for a GGUF.
 */
export function statsSource(location: string, override: string | undefined): StatsSource {
  if (override) {
    if (!existsSync(override)) throw new UsageError(`--stats-text ${override}: not found`);
    return statSync(override).isDirectory() ? jsonSentencesSource(override) : linesSource(override);
  }
  if (location.endsWith('.gguf')) {
    const dir = path.resolve(ROOT, '../shared/data/editing');
    if (!existsSync(dir)) throw new UsageError(`no statistics text: ${dir} is missing; pass --stats-text`);
    return jsonSentencesSource(dir);
  }
  const corpus = path.join(ROOT, 'data/world/corpus.txt');
  if (!existsSync(corpus)) throw new UsageError(`no statistics text: ${corpus} is missing; pass --stats-text`);
  return linesSource(corpus, 'data/world/corpus.txt');
}

export function seconds(since: number): string {
  return ((performance.now() - since) / 1000).toFixed(1);
}
