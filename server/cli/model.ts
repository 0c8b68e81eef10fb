/** The model and the second-moment statistics the commands share. */
import { existsSync } from 'node:fs';
import { secondMoments, statsSource, StatsSourceError } from '../editing/stats/defaults';
import type { SecondMoments, StatsSource } from '../editing/stats/second-moment';
import { Engine } from '../engine';
import { createBackend } from '../engine/backends/select';
import type { EditableLM } from '../models/editable';
import type { LanguageModel } from '../models/lm';
import { isEncoderDecoderDir, loadLanguageModel, loadSeq2SeqModel } from '../models/load';
import { UsageError } from './args';
import type { Progress } from './progress';

/** Throws a UsageError when --model names nothing on disk (checked before anything heavy runs). */
export function checkModelPath(location: string): void {
  if (!existsSync(location)) throw new UsageError(`--model ${location}: not found (a checkpoint folder with tokenizer.json, or a .gguf file)`);
}

/** Loads a checkpoint folder or a GGUF file on the backend LOCUS_BACKEND names (CPU by default), showing the weights as they load. */
export async function loadModel(location: string, progress: Progress): Promise<LanguageModel> {
  checkModelPath(location);
  const started = performance.now();
  const lm = await loadLanguageModel(new Engine(await createBackend()), location, { onProgress: (done, total) => progress.update('loading weights', done, total) });
  progress.end();
  const { family, layers, hidden } = lm.network.spec;
  progress.log(`model ${location}: ${family}, ${layers} layers, hidden ${hidden} (${seconds(started)} s)`);
  return lm;
}

/**
 * Loads a model of either architecture (a T5 checkpoint folder as an encoder-decoder model), for
 * the commands that work on both (`locus eval`).
 */
export async function loadEditableModel(location: string, progress: Progress): Promise<EditableLM> {
  checkModelPath(location);
  if (!isEncoderDecoderDir(location)) return loadModel(location, progress);
  const started = performance.now();
  const lm = await loadSeq2SeqModel(new Engine(await createBackend()), location, { onProgress: (done, total) => progress.update('loading weights', done, total) });
  progress.end();
  const { family, encoderLayers, decoderLayers, hidden } = lm.network.spec;
  progress.log(`model ${location}: ${family} (encoder-decoder), ${encoderLayers} + ${decoderLayers} layers, hidden ${hidden}; methods edit the decoder (${seconds(started)} s)`);
  return lm;
}

/** Second moments for the CLI: progress on the bar, a missing statistics text as a usage error. */
export function cliSecondMoments(lm: EditableLM, location: string, source: StatsSource, maxTokens: number | undefined, progress: Progress): SecondMoments {
  return secondMoments(lm, location, source, {
    maxTokens,
    onProgress: (e) => {
      if (e.type === 'stats') progress.update(`statistics of layer ${e.layer}`, e.tokens, e.total, 'tokens');
    },
  });
}

export function cliStatsSource(location: string, override: string | undefined): StatsSource {
  try {
    return statsSource(location, override);
  } catch (error) {
    if (error instanceof StatsSourceError) throw new UsageError(error.message);
    throw error;
  }
}

export function seconds(since: number): string {
  return ((performance.now() - since) / 1000).toFixed(1);
}
