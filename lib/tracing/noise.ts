import { gaussianArray } from '../random';

/**
 * The noise added to the subject's token embeddings, [samples, subjectTokens, hidden] row-major,
 * drawn from N(0, level^2) with lib/random's seeded generator, so the server and the browser add
 * the same noise for the same seed. Like ROME (which reseeds its generator for every patched run),
 * each noise sample is the same in every restoration, so cells differ only in what they restore.
 */
export function traceNoise(opts: { seed: number; samples: number; subjectTokens: number; hidden: number; level: number }): Float32Array {
  const { seed, samples, subjectTokens, hidden, level } = opts;
  return gaussianArray(samples * subjectTokens * hidden, seed, 0, level);
}

/**
 * `multiplier` x the standard deviation of all values of some token embeddings (ROME's
 * collect_embedding_std: torch's unbiased std over every element of the subjects' embedding rows;
 * its notebook traces with 3 x that).
 */
export function noiseLevelFromEmbeddings(values: ArrayLike<number>, multiplier = 3): number {
  const n = values.length;
  if (n < 2) throw new Error(`noiseLevelFromEmbeddings: need at least 2 values, got ${n}`);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i]!;
  mean /= n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (values[i]! - mean) ** 2;
  return multiplier * Math.sqrt(squares / (n - 1));
}
