/**
 * Types and pure math of the evaluation harness (server/eval), shared with the studio: a case to
 * evaluate, its per-case metrics, averages and the seed-paper-shaped table.
 */
import type { EditRequest } from '../editing/request';

/** One edit and its probes, whatever file format it came from (server/eval/datasets.ts). */
export interface EvalCase {
  /** "case 12" style: the record's case_id when it has one, else its index in the file. */
  id: string;
  request: EditRequest;
  /** The edit prompt(s) with the subject filled in: reliability. */
  rewritePrompts: string[];
  /** Paraphrases and their target (target_new): generality. */
  generality: { prompt: string; target: string }[];
  /** Out-of-scope prompts and their ground truth: locality (agreement with pre-edit argmax). */
  locality: { prompt: string; groundTruth: string }[];
  /** Questions whose answer follows from the edit: portability. */
  portability: { prompt: string; target: string }[];
  /**
   * CounterFact only: prompts about other subjects whose true object is request.targetTrue
   * (neighbourhood score: p(true) > p(new) should hold after the edit).
   */
  neighbourhoodPrompts?: string[];
}

export interface ExactMatch {
  reliability: number;
  generality: number | null;
  portability: number | null;
}

/** CounterFact's probability comparisons (ROME's evaluation), over a set of prompts. */
export interface ProbabilityScore {
  /** Share of prompts where the expected object is more likely than the other. */
  score: number;
  /** Mean of p(expected) − p(other), p = exp(mean log-prob per target token). */
  magnitude: number;
}

/** Metrics of one case on one model state; null where the case has no such probes. */
export interface CaseMetrics {
  /** Teacher-forced token accuracy of target_new on the rewrite prompt(s). */
  reliability: number;
  generality: number | null;
  /** Share of locality target positions whose argmax equals the pre-edit argmax (null pre-edit). */
  locality: number | null;
  portability: number | null;
  /**
   * Share of prompts whose greedy continuation is exactly the target. Read off the teacher-forced
   * pass: greedy decoding reproduces the target iff the argmax is right at every target position.
   */
  exactMatch: ExactMatch;
  /** p(new) > p(true) on rewrite prompts (needs request.targetTrue). */
  efficacy?: ProbabilityScore;
  /** p(new) > p(true) on paraphrases. */
  paraphrase?: ProbabilityScore;
  /** p(true) > p(new) on neighbourhood prompts. */
  neighbourhood?: ProbabilityScore;
}

export const METRIC_KEYS = ['reliability', 'generality', 'locality', 'portability'] as const;
export const SCORE_KEYS = ['efficacy', 'paraphrase', 'neighbourhood'] as const;

/** Means over cases, skipping cases without the metric; null when no case has it. */
export interface Averages {
  cases: number;
  reliability: number | null;
  generality: number | null;
  locality: number | null;
  portability: number | null;
  exactMatch: ExactMatch;
  efficacy: ProbabilityScore | null;
  paraphrase: ProbabilityScore | null;
  neighbourhood: ProbabilityScore | null;
}

export function mean(values: readonly number[]): number | null {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
}

export function average(metrics: readonly CaseMetrics[]): Averages {
  const present = <T>(values: (T | null)[]) => values.filter((v): v is T => v !== null);
  const out: Averages = {
    cases: metrics.length,
    reliability: null,
    generality: null,
    locality: null,
    portability: null,
    exactMatch: {
      reliability: mean(metrics.map((m) => m.exactMatch.reliability)) ?? 0,
      generality: mean(present(metrics.map((m) => m.exactMatch.generality))),
      portability: mean(present(metrics.map((m) => m.exactMatch.portability))),
    },
    efficacy: null,
    paraphrase: null,
    neighbourhood: null,
  };
  for (const key of METRIC_KEYS) out[key] = mean(present(metrics.map((m) => m[key])));
  for (const key of SCORE_KEYS) {
    const present = metrics.map((m) => m[key]).filter((v): v is ProbabilityScore => v !== undefined);
    out[key] = present.length ? { score: mean(present.map((p) => p.score))!, magnitude: mean(present.map((p) => p.magnitude))! } : null;
  }
  return out;
}

export type EvalMode = 'single' | 'batch' | 'sequential';

export interface CaseResult {
  id: string;
  request: EditRequest;
  pre: CaseMetrics;
  post: CaseMetrics;
}

export interface EvalReport {
  method: string;
  editorId: string;
  mode: EvalMode;
  /** Requests per editor call (batch mode; 1 otherwise). */
  batchSize: number;
  hparams: Record<string, unknown>;
  /** One-off costs, excluded from the edit time: second moments per layer, context templates. */
  setup: { statsSeconds: number; statsLayers: number[]; statsText?: string; templatesSeconds: number };
  /** Edit time only (editor calls and applying their deltas), per edited request. */
  secondsPerEdit: number;
  editSeconds: number;
  /** Where the edit time went: wall seconds per editor stage ('stage' progress events; 'prepare' is
   * the time before a call's first one), summed over the run. Absent in reports made before it. */
  stageSeconds?: Record<string, number>;
  /** Largest engine.memory().bytes seen (sampled around edits and at every progress event). */
  peakBytes: number;
  /** Largest process RSS seen at the same moments. */
  peakRssBytes: number;
  averages: { pre: Averages; post: Averages };
  /** Sequential mode: averages over the edits made so far, after each checkpoint's edit count. */
  checkpoints?: { edits: number; averages: Averages }[];
  cases: CaseResult[];
}

const pct = (v: number | null | undefined) => (v === null || v === undefined ? '–' : (100 * v).toFixed(2));

/** A Markdown table shaped like the seed paper's Table 2 (+ portability and time, Tables 3-4). */
export function formatTable(reports: readonly EvalReport[]): string {
  const head = '| Method | Mode | N | Reliability | Generality | Locality | Portability | Efficacy (CF) | Neighbourhood (CF) | s/edit |';
  const rule = '|---|---|---|---|---|---|---|---|---|---|';
  const rows = reports.map((r) => {
    const a = r.averages.post;
    const mode = r.mode === 'batch' ? `batch ${r.batchSize}` : r.mode;
    return `| ${r.method} | ${mode} | ${a.cases} | ${pct(a.reliability)} | ${pct(a.generality)} | ${pct(a.locality)} | ${pct(a.portability)} | ${pct(a.efficacy?.score)} | ${pct(a.neighbourhood?.score)} | ${r.secondsPerEdit.toFixed(3)} |`;
  });
  return [head, rule, ...rows].join('\n');
}

/** The sequential-editing curve: averages of all earlier edits after k edits. */
export function formatCurve(report: EvalReport): string {
  if (!report.checkpoints?.length) return '';
  const rows = report.checkpoints.map((c) => `| ${c.edits} | ${pct(c.averages.reliability)} | ${pct(c.averages.generality)} | ${pct(c.averages.locality)} | ${pct(c.averages.portability)} |`);
  return ['| Edits | Reliability | Generality | Locality | Portability |', '|---|---|---|---|---|', ...rows].join('\n');
}
