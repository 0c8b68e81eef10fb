/**
 * The benchmarks page's data: the datasets an evaluation can run on (GET /api/datasets) and the
 * evaluation results to browse (GET /api/benchmarks): finished evaluation jobs and the reports
 * committed under bench/results by `locus eval --out`, summarised to one row each.
 */
import { z } from 'zod';
import type { Averages, EvalReport } from '../eval';

export const DatasetInfo = z.object({
  /** world:<name> or shared:<name>. */
  id: z.string(),
  label: z.string(),
  /** counterfact, counterfact-flat, zsre, knowedit; null when the file cannot be read as one. */
  format: z.string().nullable(),
  cases: z.number().int(),
  skipped: z.number().int(),
  error: z.string().nullable(),
});
export type DatasetInfo = z.infer<typeof DatasetInfo>;
export const DatasetsResponse = z.object({ datasets: z.array(DatasetInfo) });

/** A dataset record as a fact to study (GET /api/datasets/{id}/cases?q=): the edit and its probes. */
export const DatasetCase = z.object({
  /** Position in the dataset's cases. */
  index: z.number().int(),
  id: z.string(),
  /** The edit prompt with the subject filled in. */
  prompt: z.string(),
  subject: z.string(),
  /** Without the leading space, as the studio's boxes take them. */
  targetNew: z.string(),
  targetTrue: z.string().nullable(),
  paraphrases: z.array(z.string()),
  neighbours: z.array(z.object({ prompt: z.string(), answer: z.string() })),
  portability: z.array(z.object({ prompt: z.string(), answer: z.string() })),
});
export type DatasetCase = z.infer<typeof DatasetCase>;
export const DatasetCasesResponse = z.object({ dataset: z.string(), total: z.number().int(), matches: z.number().int(), cases: z.array(DatasetCase) });
export type DatasetCasesResponse = z.infer<typeof DatasetCasesResponse>;

/** The four metrics of the seed paper's tables, as fractions (null: no case had such probes). */
export const MetricSet = z.object({
  reliability: z.number().nullable(),
  generality: z.number().nullable(),
  locality: z.number().nullable(),
  portability: z.number().nullable(),
});
export type MetricSet = z.infer<typeof MetricSet>;
export const METRICS = ['reliability', 'generality', 'locality', 'portability'] as const;
export type Metric = (typeof METRICS)[number];

export const BenchmarkRow = z.object({
  /** job:<id> or file:<path under bench/results>. */
  id: z.string(),
  source: z.enum(['job', 'committed']),
  model: z.string(),
  dataset: z.string(),
  method: z.string(),
  mode: z.enum(['single', 'batch', 'sequential']),
  batchSize: z.number().int(),
  cases: z.number().int(),
  pre: MetricSet,
  post: MetricSet,
  secondsPerEdit: z.number(),
  peakBytes: z.number(),
  peakRssBytes: z.number(),
  /** Sequential runs: the metrics of all earlier edits after k edits. */
  checkpoints: z.array(MetricSet.extend({ edits: z.number().int() })),
  /** When the job finished or the file was last written (ISO). */
  at: z.string(),
});
export type BenchmarkRow = z.infer<typeof BenchmarkRow>;
/** One training of a method's editor networks (MEND, KE, SERAC): a train job's result or a committed `locus train` log. */
export const TrainingRun = z.object({
  /** job:<id> or file:<path under bench/results>. */
  id: z.string(),
  source: z.enum(['job', 'committed']),
  model: z.string(),
  method: z.string(),
  steps: z.number().int(),
  /** The step a resumed run went on from (0: trained in one go). */
  resumedFrom: z.number().int(),
  /** Wall time as the log or job reports it. */
  seconds: z.number(),
  peakBytes: z.number().nullable(),
  peakRssBytes: z.number().nullable(),
  at: z.string(),
});
export type TrainingRun = z.infer<typeof TrainingRun>;
export const BenchmarksResponse = z.object({ results: z.array(BenchmarkRow), training: z.array(TrainingRun).default([]) });

function metrics(a: Averages): MetricSet {
  return { reliability: a.reliability, generality: a.generality, locality: a.locality, portability: a.portability };
}

/** One row of the results from a report (the evaluation job's result, or a committed report file). */
export function summarizeReport(report: EvalReport, meta: Pick<BenchmarkRow, 'id' | 'source' | 'model' | 'dataset' | 'at'>): BenchmarkRow {
  return {
    ...meta,
    method: report.method,
    mode: report.mode,
    batchSize: report.batchSize,
    cases: report.averages.post.cases,
    pre: metrics(report.averages.pre),
    post: metrics(report.averages.post),
    secondsPerEdit: report.secondsPerEdit,
    peakBytes: report.peakBytes,
    peakRssBytes: report.peakRssBytes,
    checkpoints: (report.checkpoints ?? []).map((c) => ({ edits: c.edits, ...metrics(c.averages) })),
    at: meta.at,
  };
}

const CSV_COLUMNS: [string, (r: BenchmarkRow) => string | number | null][] = [
  ['model', (r) => r.model],
  ['dataset', (r) => r.dataset],
  ['method', (r) => r.method],
  ['mode', (r) => r.mode],
  ['batch_size', (r) => r.batchSize],
  ['cases', (r) => r.cases],
  ...METRICS.map((m): [string, (r: BenchmarkRow) => number | null] => [m, (r) => r.post[m]]),
  ...METRICS.map((m): [string, (r: BenchmarkRow) => number | null] => [`pre_${m}`, (r) => r.pre[m]]),
  ['seconds_per_edit', (r) => r.secondsPerEdit],
  ['peak_engine_bytes', (r) => r.peakBytes],
  ['peak_rss_bytes', (r) => r.peakRssBytes],
  ['source', (r) => r.id],
  ['at', (r) => r.at],
];

function csvField(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The rows as CSV (RFC 4180 quoting; metrics as fractions, empty when absent). */
export function benchmarksCsv(rows: readonly BenchmarkRow[]): string {
  const lines = [CSV_COLUMNS.map(([name]) => name).join(',')];
  for (const row of rows) lines.push(CSV_COLUMNS.map(([, get]) => csvField(get(row))).join(','));
  return `${lines.join('\n')}\n`;
}
