/**
 * The evaluation runner: edits cases with one method in one of EasyEdit's three regimes and scores
 * them before and after (METHODS.md, "Evaluation as EasyEdit computes it"):
 * - single: one request per editor call, scored, then the model restored exactly (snapshot);
 * - batch: `batchSize` requests per editor call, scored together, then restored;
 * - sequential: requests applied one after another and kept; all earlier edits are scored at the
 *   checkpoints and at the end; the model is restored when the run ends.
 * Pre-edit scores (and the locality reference argmaxes) come from the unedited model, once.
 * Second moments and context templates are computed before the clock starts and reported apart.
 */
import { hparamLayers } from '../editing/hparams';
import type { EditRequest } from '../../lib/editing/request';
import type { Averages, CaseMetrics, EvalCase, EvalMode, EvalReport } from '../../lib/eval';
import { average } from '../../lib/eval';
import { addDelta, snapshot } from '../editing/deltas';
import type { EditContext, EditProgress, WeightDelta } from '../editing/editor';
import { throwIfCancelled } from '../editing/editor';
import { EDITORS, type EditorId } from '../editing/index';
import type { EditableLM } from '../models/editable';
import type { LocalityReference } from './metrics';
import { measureCases } from './metrics';

export type EvalProgress =
  | { type: 'setup'; stage: 'stats' | 'templates'; layer?: number; seconds: number }
  | { type: 'pre'; cases: number; seconds: number }
  | { type: 'edit'; done: number; total: number; caseIds: string[]; seconds: number }
  | { type: 'editor'; caseIds: string[]; event: EditProgress }
  | { type: 'checkpoint'; edits: number; averages: Averages };

export interface EvalOptions {
  mode: EvalMode;
  /** Requests per editor call in batch mode (default: all cases at once). */
  batchSize?: number;
  /** Sequential mode: also score all earlier edits after these many edits (e.g. 1, 10, 100). */
  checkpoints?: readonly number[];
  /** Layers whose second moments to compute before timing; default: the hparams' layer/layers. */
  statsLayers?: readonly number[];
  /** Pairs per forward pass when scoring. */
  scoreBatchSize?: number;
  onProgress?: (event: EvalProgress) => void;
  signal?: AbortSignal;
}

/** The largest engine memory and process RSS seen at the moments `sample()` is called (once at creation). */
export function peakMemory(lm: Pick<EditableLM, 'engine'>): { sample(): void; readonly bytes: number; readonly rssBytes: number } {
  const peak = {
    bytes: 0,
    rssBytes: 0,
    sample() {
      peak.bytes = Math.max(peak.bytes, lm.engine.memory().bytes);
      peak.rssBytes = Math.max(peak.rssBytes, process.memoryUsage().rss);
    },
  };
  peak.sample();
  return peak;
}

/** Edits and scores `cases` with one method in the regime `opts.mode` (see the top of this file). */
export async function evaluate(ctx: EditContext, editorId: EditorId, hparams: Record<string, unknown>, cases: readonly EvalCase[], opts: EvalOptions): Promise<EvalReport> {
  const editor = EDITORS[editorId];
  if (!editor) throw new Error(`evaluate: unknown method "${String(editorId)}" (known: ${Object.keys(EDITORS).join(', ')})`);
  if (!cases.length) throw new Error('evaluate: no cases');
  const hp = editor.hparams.parse({ ...editor.defaults(ctx.lm), ...hparams }) as Record<string, unknown>;
  const { lm } = ctx;
  const emit = opts.onProgress;
  const scoreBatch = opts.scoreBatchSize ?? 32;

  const peak = peakMemory(lm);
  const sample = peak.sample;

  // One-off statistics, outside the edit clock.
  const statsLayers = [...(opts.statsLayers ?? (editor.needs.secondMoments ? hparamLayers(hp) : []))];
  let clock = performance.now();
  for (const layer of statsLayers) {
    const t = performance.now();
    await ctx.stats.factor(layer);
    emit?.({ type: 'setup', stage: 'stats', layer, seconds: seconds(t) });
  }
  await editor.setup?.(ctx, hp as never);
  const statsSeconds = seconds(clock);
  clock = performance.now();
  if (hp.useContextTemplates !== false && editor.needs.contextTemplates) ctx.templates.get();
  const templatesSeconds = seconds(clock);
  if (templatesSeconds > 0.01) emit?.({ type: 'setup', stage: 'templates', seconds: templatesSeconds });
  sample();

  clock = performance.now();
  const pre = measureCases(lm, cases, undefined, scoreBatch);
  emit?.({ type: 'pre', cases: cases.length, seconds: seconds(clock) });

  let editSeconds = 0;
  let edited = 0;
  // A stage lasts from its 'stage' event to the next one or to the end of the editor call.
  const stageSeconds: Record<string, number> = {};
  let stage = { name: 'prepare', at: 0 };
  const enterStage = (name: string | undefined) => {
    const now = performance.now();
    stageSeconds[stage.name] = (stageSeconds[stage.name] ?? 0) + (now - stage.at) / 1000;
    if (name) stage = { name, at: now };
  };
  /** Set by the mode: snapshots the parameters an editor call is about to change. */
  let beforeApply: ((deltas: WeightDelta[]) => void) | undefined;
  /** Runs the editor on some cases, applies the deltas; returns the parameters they touched. */
  const edit = async (group: readonly EvalCase[]): Promise<WeightDelta[]> => {
    throwIfCancelled(opts.signal);
    const caseIds = group.map((c) => c.id);
    const editCtx: EditContext = {
      ...ctx,
      signal: opts.signal ?? ctx.signal,
      onProgress: (event) => {
        if (event.type === 'stage') enterStage(event.stage);
        sample();
        ctx.onProgress?.(event);
        emit?.({ type: 'editor', caseIds, event });
      },
    };
    const start = performance.now();
    stage = { name: 'prepare', at: start };
    const requests: EditRequest[] = group.map((c) => c.request);
    const outcome = await editor.apply(editCtx, requests, hp as never);
    enterStage(undefined);
    const touched = outcome.deltas;
    beforeApply?.(touched);
    for (const delta of touched) addDelta(lm.network, delta);
    const took = seconds(start);
    editSeconds += took;
    edited += group.length;
    sample();
    emit?.({ type: 'edit', done: edited, total: cases.length, caseIds, seconds: took });
    return touched;
  };
  const post: CaseMetrics[] = new Array(cases.length);
  const score = (from: number, to: number) => {
    const m = measureCases(lm, cases.slice(from, to), pre.locality.slice(from, to) as LocalityReference[], scoreBatch);
    sample();
    return m.metrics;
  };
  const checkpoints: { edits: number; averages: Averages }[] = [];

  const size = opts.mode === 'single' ? 1 : opts.mode === 'batch' ? Math.max(1, opts.batchSize ?? cases.length) : Math.max(1, opts.batchSize ?? 1);
  if (opts.mode === 'sequential') {
    // The original value of every parameter any edit touches, taken before its first change.
    const originals: { restore(): void }[] = [];
    const held = new Set<string>();
    beforeApply = (deltas) => {
      const fresh = [...new Set(deltas.map((d) => d.param))].filter((p) => !held.has(p));
      fresh.forEach((p) => held.add(p));
      if (fresh.length) originals.push(snapshot(lm.network, fresh));
    };
    const marks = new Set((opts.checkpoints ?? []).filter((k) => k > 0 && k < cases.length));
    try {
      for (let i = 0; i < cases.length; i += size) {
        await edit(cases.slice(i, i + size));
        const done = Math.min(i + size, cases.length);
        if ([...marks].some((k) => k > i && k <= done)) {
          const averages = average(score(0, done));
          checkpoints.push({ edits: done, averages });
          emit?.({ type: 'checkpoint', edits: done, averages });
        }
      }
      score(0, cases.length).forEach((m, i) => (post[i] = m));
      checkpoints.push({ edits: cases.length, averages: average(post) });
    } finally {
      for (const original of originals.reverse()) original.restore();
    }
  } else {
    for (let i = 0; i < cases.length; i += size) {
      let restore: { restore(): void } | undefined;
      beforeApply = (deltas) => {
        restore = snapshot(lm.network, [...new Set(deltas.map((d) => d.param))]);
      };
      try {
        await edit(cases.slice(i, i + size));
        score(i, Math.min(i + size, cases.length)).forEach((m, j) => (post[i + j] = m));
      } finally {
        restore?.restore();
      }
    }
  }

  return {
    method: editor.name,
    editorId,
    mode: opts.mode,
    batchSize: size,
    hparams: hp,
    setup: { statsSeconds, statsLayers, statsText: statsLayers.length || editor.setup ? ctx.stats.description : undefined, templatesSeconds },
    secondsPerEdit: editSeconds / cases.length,
    editSeconds,
    stageSeconds,
    peakBytes: peak.bytes,
    peakRssBytes: peak.rssBytes,
    averages: { pre: average(pre.metrics), post: average(post) },
    checkpoints: opts.mode === 'sequential' ? checkpoints : undefined,
    cases: cases.map((c, i) => ({ id: c.id, request: c.request, pre: pre.metrics[i]!, post: post[i]! })),
  };
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}
