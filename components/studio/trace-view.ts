/** What the trace panel draws, from a trace job's events (and its result once it ends). */
import {
  TRACE_KINDS,
  traceEventSchema,
  traceResultSchema,
  type DecoderGrid,
  type TraceEvent,
  type TraceKind,
  type TraceResult,
  type TraceSetup,
} from '@/lib/tracing/schema';

/** A cell: a number, null where the position was not traced, undefined while its row has not arrived. */
export type Cell = number | null | undefined;

export interface TraceView {
  setup: TraceSetup | null;
  kinds: TraceKind[];
  /** [kind][layer][token] of the setup's stack (an encoder-decoder model's encoder). */
  cells: Record<TraceKind, Cell[][]>;
  /** Encoder-decoder traces: the decoder's grid and cells, [kind][decoder layer][decoder position]; null otherwise. */
  decoder: (DecoderGrid & { cells: Record<TraceKind, Cell[][]> }) | null;
  /** Rows (kind, layer) arrived, of `total` (0 until the clean run reports). */
  done: number;
  total: number;
  /** The colour scale's range over every kind (and both stacks): [min(0, lowest effect), max(total effect, highest effect)]. */
  min: number;
  max: number;
}

/**
 * Rows fill in as 'row' events arrive; the result, when there is one, is authoritative. The scale
 * is fixed from the clean run on (its total effect is about the most a restoration can recover),
 * and widens only when an effect falls outside it, so colours do not shift as rows arrive.
 */
export function traceView(events: readonly TraceEvent[], result: TraceResult | null, kinds: readonly TraceKind[] = TRACE_KINDS): TraceView {
  const clean = events.find((e) => e.type === 'clean');
  const setup: TraceSetup | null = result ?? (clean?.type === 'clean' ? clean.setup : null);
  const shown = result ? result.traces.map((t) => t.kind) : [...kinds];
  const grid = (g: { layers: number; tokens: readonly string[] }) =>
    Object.fromEntries(TRACE_KINDS.map((k) => [k, Array.from({ length: g.layers }, () => new Array<Cell>(g.tokens.length).fill(undefined))])) as Record<TraceKind, Cell[][]>;
  const cells = setup ? grid(setup) : grid({ layers: 0, tokens: [] });
  const decoder = setup?.decoder ? { ...setup.decoder, cells: grid(setup.decoder) } : null;
  let done = 0;
  let total = clean?.type === 'clean' ? clean.rows : 0;
  for (const e of events) {
    if (e.type !== 'row') continue;
    const row = (e.stack === 'decoder' ? decoder?.cells : cells)?.[e.kind][e.layer];
    if (row) e.effects.forEach((v, t) => (row[t] = v));
    done = Math.max(done, e.done);
    total = e.total;
  }
  if (result) {
    for (const t of result.traces) cells[t.kind] = t.effects.map((row) => [...row]);
    if (decoder) for (const t of result.decoderTraces ?? []) decoder.cells[t.kind] = t.effects.map((row) => [...row]);
    const rows = [...result.traces, ...(result.decoderTraces ?? [])].reduce((n, t) => n + t.effects.length, 0);
    done = total = Math.max(total, rows);
  }
  let min = 0;
  let max = setup ? Math.max(setup.totalEffect, 0) : 0;
  for (const k of shown) {
    for (const row of [...cells[k], ...(decoder?.cells[k] ?? [])]) {
      for (const v of row) {
        if (typeof v !== 'number') continue;
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
    }
  }
  if (max <= min) max = min + 1e-6;
  return { setup, kinds: shown, cells, decoder, done, total, min, max };
}

export function parseTraceEvent(data: unknown): TraceEvent | null {
  const parsed = traceEventSchema.safeParse(data);
  return parsed.success ? parsed.data : null;
}

export function parseTraceResult(data: unknown): TraceResult | null {
  const parsed = traceResultSchema.safeParse(data);
  return parsed.success ? parsed.data : null;
}

/**
 * The restoration window for a model of `layers` layers: about a sixth of its depth, between 1 and
 * ROME's 10 (which it used on GPT-2 XL's 48 layers), so a 6-layer model restores one layer at a time.
 */
export function defaultWindow(layers: number | null | undefined): number {
  if (!layers || layers < 1) return 1;
  return Math.min(10, Math.max(1, Math.round(layers / 6)));
}

/** The cell with the largest effect, or null when none is filled. */
export function strongestCell(cells: readonly Cell[][]): { layer: number; token: number; value: number } | null {
  let best: { layer: number; token: number; value: number } | null = null;
  cells.forEach((row, layer) =>
    row.forEach((value, token) => {
      if (typeof value === 'number' && (best === null || value > best.value)) best = { layer, token, value };
    }),
  );
  return best;
}

/** What a restoration restores, in running text. */
export const KIND_PHRASE: Record<TraceKind, string> = {
  hidden: 'hidden state',
  mlp: 'MLP output',
  attn: 'attention output',
};

export const KIND_TITLE: Record<TraceKind, string> = {
  hidden: 'Hidden state (residual stream after the layer)',
  mlp: 'MLP output',
  attn: 'Attention output',
};

/** In an encoder-decoder trace the decoder's 'attn' restores cross-attention, where the corrupted encoder enters (server/tracing/seq2seq.ts). */
export const DECODER_KIND_TITLE: Record<TraceKind, string> = {
  ...KIND_TITLE,
  attn: 'Cross-attention output',
};
