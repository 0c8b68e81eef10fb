/** Where ROME's and MEMIT's second-moment statistics come from by default, and where they are cached. */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { EditableLM } from '../../models/editable';
import { locusCacheDir } from '../../models/registry';
import type { EditProgress } from '../editor';
import { SecondMoments, type StatsSource } from './second-moment';
import { jsonSentencesSource, linesSource } from './texts';

// Paths are relative to the working directory: the repository root, where the studio and the CLI start.
const ROOT = path.resolve(/* turbopackIgnore: true */ process.cwd());
export const DEFAULT_STATS_TOKENS = 50_000;

/** Thrown when no statistics text can be found: callers show the message as it is. */
export class StatsSourceError extends Error {
  override name = 'StatsSourceError';
}

/**
 * The text second moments are computed from: `override` when given, else LOCUS_STATS_TEXT (a .txt
 * file, one sample per line, or a folder of JSON files, their English sentences); else the world
 * corpus (data/world/corpus.txt) for a checkpoint folder, the sentences of ../shared/data/editing for
 * a GGUF.
 */
export function statsSource(location: string, override = process.env.LOCUS_STATS_TEXT): StatsSource {
  if (override) {
    if (!existsSync(override)) throw new StatsSourceError(`statistics text ${override}: not found`);
    return statSync(override).isDirectory() ? jsonSentencesSource(override) : linesSource(override);
  }
  if (location.endsWith('.gguf')) {
    const dir = path.resolve(ROOT, '../shared/data/editing');
    if (!existsSync(dir)) throw new StatsSourceError(`no statistics text: ${dir} is missing`);
    return jsonSentencesSource(dir);
  }
  const corpus = path.join(ROOT, 'data/world/corpus.txt');
  if (!existsSync(corpus)) throw new StatsSourceError(`no statistics text: ${corpus} is missing`);
  return linesSource(corpus, 'data/world/corpus.txt');
}

/**
 * Second moments of MLP keys (ROME's and MEMIT's C) over `maxTokens` of the source's text, computed
 * when a method first asks for a layer and cached under ${LOCUS_CACHE:-~/.cache/locus}/stats.
 */
export function secondMoments(
  lm: EditableLM,
  location: string,
  source: StatsSource,
  opts: { maxTokens?: number; onProgress?: (e: EditProgress) => void } = {},
): SecondMoments {
  const cacheDir = path.join(locusCacheDir(), 'stats');
  const maxTokens = opts.maxTokens ?? DEFAULT_STATS_TOKENS;
  return new SecondMoments(lm, path.basename(location), source, { maxTokens, maxLength: 128, batchSize: 64, cacheDir }, opts.onProgress);
}
