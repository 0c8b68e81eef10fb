import { traceNoise } from './noise';
import { planTrace, type TraceCell } from './plan';
import type { CorruptedRow, TraceRunner } from './runner';
import type { KindTrace, LayerSuggestion, TokenRange, TraceEvent, TraceKind, TracePositions, TraceResult, TraceSettings, TraceSetup } from './schema';

/**
 * Causal tracing over token ids (Meng et al. 2022, section 2.1): the algorithm every backend
 * shares. Steps, as in ROME's calculate_hidden_flow:
 *   1. clean run: p_clean = p(o | prompt), keeping every state a cell may restore;
 *   2. corrupted runs: noise ~ N(0, level^2) added to the subject's token embeddings, `samples`
 *      draws in one batch; p_corrupted = their mean p(o);
 *   3. for each (kind, layer, token): the corrupted runs again, with the clean state(s) written
 *      back at that token; indirect effect = mean p_restored(o) - p_corrupted(o).
 * The object o is the target's first token (ROME uses the clean run's argmax instead).
 */

/** The prompt, subject and target as tokens; text for display. */
export interface TraceInput {
  prompt: string;
  subject: string;
  target: string;
  tokens: readonly string[];
  tokenIds: readonly number[];
  subjectRange: TokenRange;
  targetToken: { id: number; text: string };
}

/** The method's settings with the noise level resolved; positions may also list token indices. */
export interface ResolvedTraceSettings extends Omit<TraceSettings, 'noiseLevel' | 'noiseMultiplier' | 'positions'> {
  noiseLevel: number;
  positions: TracePositions | readonly number[];
}

export interface TraceRunOptions {
  /** Most sequences per forward pass; a cell's noise samples always run together, so a pass holds
   * max(1, floor(maxBatch / samples)) cells, packed across rows. Default DEFAULT_MAX_BATCH. */
  maxBatch?: number;
  /** Awaited after every batch so that the event loop can run (a server streams meanwhile).
   * Default: setImmediate where it exists, else setTimeout(0). */
  pause?: () => Promise<void>;
  /** Clock in milliseconds, for `seconds`. Default performance.now. */
  now?: () => number;
}

/** Sequences per forward pass by default: a whole row for prompts up to ~12 tokens at 10 samples.
 * On the CPU backend throughput is flat from 40 to 90 sequences of 9 tokens (SmolLM2, 2 cores). */
export const DEFAULT_MAX_BATCH = 128;

/**
 * Streams a causal trace: 'clean' first, a 'row' per (kind, layer) as its cells complete, then
 * 'done' with the result. The runner stays the caller's to dispose.
 */
export async function* traceTokens(runner: TraceRunner, input: TraceInput, settings: ResolvedTraceSettings, opts: TraceRunOptions = {}): AsyncGenerator<TraceEvent, void> {
  const now = opts.now ?? (() => performance.now());
  const pause = opts.pause ?? defaultPause;
  const started = now();
  const { kinds, samples, window, seed, noiseLevel } = settings;
  const { subjectRange: subject, tokenIds } = input;
  const layers = runner.layers;
  const plan = planTrace({ layers, tokens: tokenIds.length, subject, kinds, window, samples, positions: settings.positions, maxBatch: opts.maxBatch ?? DEFAULT_MAX_BATCH });
  if (input.tokens.length !== tokenIds.length) throw new Error(`traceTokens: ${input.tokens.length} token strings for ${tokenIds.length} ids`);
  if (!plan.traced.includes(subject.end - 1)) throw new Error(`traceTokens: the positions must include the subject's last token (${subject.end - 1}); the suggested layer is read there`);

  const noise = traceNoise({ seed, samples, subjectTokens: subject.end - subject.start, hidden: runner.hidden, level: noiseLevel });
  const pClean = await runner.clean({ ids: tokenIds, subject, targetId: input.targetToken.id, noise, samples, kinds });
  const pCorrupted = mean(await runner.corrupted(sampleRows(samples, [])));
  const setup: TraceSetup = {
    prompt: input.prompt,
    subject: input.subject,
    target: input.target,
    tokens: [...input.tokens],
    tokenIds: [...tokenIds],
    subjectRange: { start: subject.start, end: subject.end },
    targetToken: { ...input.targetToken },
    layers,
    noiseLevel,
    samples,
    window,
    seed,
    pClean,
    pCorrupted,
    totalEffect: pClean - pCorrupted,
  };
  yield { type: 'clean', setup, rows: plan.rows.length };
  await pause();

  // [kind][layer][token]: null until traced; 0 before the subject (nothing to restore there)
  const effects = new Map<TraceKind, (number | null)[][]>(
    kinds.map((kind) => [kind, Array.from({ length: layers }, () => tokenIds.map((_, t) => (plan.columns.includes(t) && t < subject.start ? 0 : null)))]),
  );
  const remaining = new Map(plan.rows.map(({ kind, layer }) => [rowKey(kind, layer), plan.traced.length]));
  let done = 0;
  for (const batch of plan.batches) {
    const probs = await runner.corrupted(batch.flatMap((cell) => sampleRows(samples, [restorationOf(cell)])));
    if (probs.length !== batch.length * samples) throw new Error(`trace runner returned ${probs.length} probabilities for ${batch.length * samples} rows`);
    for (const [i, cell] of batch.entries()) {
      effects.get(cell.kind)![cell.layer]![cell.token] = mean(probs.subarray(i * samples, (i + 1) * samples)) - pCorrupted;
      const key = rowKey(cell.kind, cell.layer);
      const left = remaining.get(key)! - 1;
      remaining.set(key, left);
      if (left === 0) yield { type: 'row', kind: cell.kind, layer: cell.layer, effects: [...effects.get(cell.kind)![cell.layer]!], done: ++done, total: plan.rows.length };
    }
    await pause();
  }

  const traces: KindTrace[] = kinds.map((kind) => ({ kind, effects: effects.get(kind)! }));
  const result: TraceResult = { ...setup, traces, suggestion: suggestLayer(traces, subject.end - 1), seconds: (now() - started) / 1000 };
  yield { type: 'done', result };
}

/** Runs a trace to the end and returns its result. */
export async function collectTrace(events: AsyncIterable<TraceEvent>): Promise<TraceResult> {
  for await (const event of events) if (event.type === 'done') return event.result;
  throw new Error('the trace ended without a result');
}

/** The kinds a layer is chosen from, in order of preference: ROME edits an MLP. */
const SUGGESTION_KINDS: readonly TraceKind[] = ['mlp', 'hidden', 'attn'];

/**
 * The layer whose restoration at `token` (the subject's last) has the largest indirect effect, in
 * the first traced kind of mlp, hidden, attn; ties go to the earlier layer.
 */
export function suggestLayer(traces: readonly KindTrace[], token: number): LayerSuggestion {
  const trace = SUGGESTION_KINDS.map((kind) => traces.find((t) => t.kind === kind)).find((t) => t !== undefined);
  if (!trace) throw new Error('suggestLayer: no trace');
  const column = trace.effects.map((row, layer) => {
    const value = row[token];
    if (value === null || value === undefined) throw new Error(`suggestLayer: token ${token} not traced at layer ${layer} of '${trace.kind}'`);
    return value;
  });
  let layer = 0;
  for (let l = 1; l < column.length; l++) if (column[l]! > column[layer]!) layer = l;
  return { kind: trace.kind, layer, token, effects: column };
}

function restorationOf(cell: TraceCell) {
  return { kind: cell.kind, layers: cell.restoreLayers, tokens: [cell.token] };
}

function sampleRows(samples: number, restore: CorruptedRow['restore']): CorruptedRow[] {
  return Array.from({ length: samples }, (_, sample) => ({ sample, restore }));
}

function rowKey(kind: TraceKind, layer: number): string {
  return `${kind}:${layer}`;
}

function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s / values.length;
}

function defaultPause(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate;
  return new Promise((resolve) => (immediate ? immediate(resolve) : setTimeout(resolve, 0)));
}
