import type { TokenRange, TraceKind, TracePositions } from './schema';

/**
 * The layers restored together for a cell at `layer`. 'hidden' restores the one residual state;
 * 'mlp' and 'attn' restore a window of `window` layers, as ROME's trace_important_window:
 * range(max(0, layer - window // 2), min(layers, layer - (-window // 2))), i.e. layer - 5 ..
 * layer + 4 for the default 10, clamped at both ends (so the first and last layers get fewer).
 */
export function restoreWindow(kind: TraceKind, layer: number, layers: number, window: number): number[] {
  if (!Number.isInteger(layer) || layer < 0 || layer >= layers) throw new Error(`restoreWindow: layer ${layer} outside 0..${layers - 1}`);
  if (kind === 'hidden') return [layer];
  const from = Math.max(0, layer - Math.floor(window / 2));
  const to = Math.min(layers, layer + Math.ceil(window / 2));
  return Array.from({ length: to - from }, (_, i) => from + i);
}

/** One restoration to measure: the clean `kind` state(s) at `token`, in `restoreLayers`. */
export interface TraceCell {
  kind: TraceKind;
  /** The row of the heatmap this cell belongs to (for windows: the window's centre). */
  layer: number;
  token: number;
  restoreLayers: number[];
}

/** A heatmap row: one kind at one layer, across the traced tokens. */
export interface TraceRowKey {
  kind: TraceKind;
  layer: number;
}

export interface TracePlanInput {
  layers: number;
  /** Tokens in the prompt. */
  tokens: number;
  subject: TokenRange;
  kinds: readonly TraceKind[];
  window: number;
  samples: number;
  positions: TracePositions | readonly number[];
  /** Most sequences per forward pass; a cell's samples always run together. Default: one row. */
  maxBatch?: number;
}

export interface TracePlan {
  /** Token positions whose cells run, ascending. */
  traced: number[];
  /** Token positions with a column in the heatmap: `traced` plus those before the subject, whose
   * effect is exactly 0 (the corrupted run equals the clean one there), so they are not run. */
  columns: number[];
  rows: TraceRowKey[];
  /** Batches of cells, in row order; each cell runs `samples` sequences. */
  batches: TraceCell[][];
}

/**
 * Which cells to run and how to batch them. ROME runs every (token, layer); tokens before the
 * subject are skipped here because restoring them restores what is already clean.
 */
export function planTrace(input: TracePlanInput): TracePlan {
  const { layers, tokens, subject, kinds, window, samples } = input;
  if (!Number.isInteger(layers) || layers < 1) throw new Error(`planTrace: layers must be a positive integer, got ${layers}`);
  if (!Number.isInteger(tokens) || tokens < 1) throw new Error(`planTrace: the prompt has no tokens`);
  if (subject.start < 0 || subject.end > tokens || subject.end <= subject.start) {
    throw new Error(`planTrace: subject tokens [${subject.start}, ${subject.end}) outside the prompt's ${tokens} tokens`);
  }
  if (new Set(kinds).size !== kinds.length || kinds.length === 0) throw new Error(`planTrace: kinds must be distinct and non-empty, got [${kinds.join(', ')}]`);
  const selected = selectPositions(input.positions, tokens, subject);
  const traced = selected.filter((t) => t >= subject.start);
  const columns = selected;
  const rows = kinds.flatMap((kind) => Array.from({ length: layers }, (_, layer) => ({ kind, layer })));
  const cells = rows.flatMap(({ kind, layer }) => traced.map((token) => ({ kind, layer, token, restoreLayers: restoreWindow(kind, layer, layers, window) })));
  const perBatch = input.maxBatch === undefined ? traced.length : Math.max(1, Math.floor(input.maxBatch / samples));
  const batches: TraceCell[][] = [];
  for (let i = 0; i < cells.length; i += perBatch) batches.push(cells.slice(i, i + perBatch));
  return { traced, columns, rows, batches };
}

function selectPositions(positions: TracePositions | readonly number[], tokens: number, subject: TokenRange): number[] {
  if (positions === 'all') return Array.from({ length: tokens }, (_, t) => t);
  if (positions === 'key') return [...new Set([subject.end - 1, tokens - 1])].sort((a, b) => a - b);
  for (const t of positions) {
    if (!Number.isInteger(t) || t < 0 || t >= tokens) throw new Error(`planTrace: position ${t} outside the prompt's ${tokens} tokens`);
  }
  return [...new Set(positions)].sort((a, b) => a - b);
}
