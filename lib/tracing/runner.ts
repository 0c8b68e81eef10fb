import type { TokenRange, TraceKind } from './schema';

/** What a runner is set up with before the first corrupted batch. */
export interface RunnerSetup {
  /** The prompt's token ids. */
  ids: readonly number[];
  subject: TokenRange;
  /** The token whose probability at the last position is reported. */
  targetId: number;
  /** [samples, subject tokens, hidden], added to the subject's embeddings (see traceNoise). */
  noise: Float32Array;
  samples: number;
  /** The kinds of state `corrupted` will be asked to restore. */
  kinds: readonly TraceKind[];
}

/** Clean states written back into a corrupted run. */
export interface Restoration {
  kind: TraceKind;
  layers: readonly number[];
  tokens: readonly number[];
}

/** One sequence of a corrupted batch: noise sample `sample` on the subject, then restorations. */
export interface CorruptedRow {
  sample: number;
  restore: readonly Restoration[];
}

/**
 * What the trace algorithm (traceTokens) needs from a model backend: the engine with hooks
 * (server/tracing) or onnxruntime-web with intervention inputs (the browser worker). A trace calls
 * `clean` once, then `corrupted` per batch; the caller disposes the runner.
 */
export interface TraceRunner {
  readonly layers: number;
  /** Width of the embeddings the noise is added to. */
  readonly hidden: number;
  /** Runs the clean prompt, keeps the clean states of `setup.kinds` for restoration, and returns
   * p(target) at the last position. */
  clean(setup: RunnerSetup): Promise<number>;
  /** Runs the prompt once per row, with the row's noise and restorations, in one batch; returns
   * p(target) at the last position per row. */
  corrupted(rows: readonly CorruptedRow[]): Promise<Float32Array>;
  dispose(): void;
}
