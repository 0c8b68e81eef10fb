/**
 * Evaluation results to browse on the benchmarks page: the reports `locus eval --out` wrote under
 * bench/results (committed, from real runs; see bench/BENCHMARKS.md) and the finished evaluation
 * jobs of this studio. Each becomes one BenchmarkRow. Beside them, the training of editor networks
 * (committed `locus train` logs and finished train jobs), each a TrainingRun.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { summarizeReport, type BenchmarkRow, type TrainingRun } from '../../lib/api/benchmarks';
import { TrainJobResult, type JobSummary } from '../../lib/api/jobs';
import type { EvalReport } from '../../lib/eval';
import { WORLD_MODEL_ID, WORLD_T5_MODEL_ID } from '../backend/hub';
import { SMOLLM2_ID } from '../models/registry';
import { datasetIdOf } from './catalog';

export const RESULTS_DIR = path.join('bench', 'results');

/** A report as `locus eval --out` writes it: where it ran, then the EvalReport. */
type ReportFile = EvalReport & { model: string; dataset: string };

function isReport(json: unknown): json is ReportFile {
  const r = json as Partial<ReportFile> | null;
  return Boolean(r && typeof r === 'object' && typeof r.method === 'string' && typeof r.mode === 'string' && typeof r.model === 'string' && typeof r.dataset === 'string' && r.averages?.post);
}

/** The hub's id for the model a report names by path (the CLI takes paths, the studio ids). */
export function modelIdOf(location: string): string {
  const base = path.basename(location);
  if (base === WORLD_MODEL_ID || base === WORLD_T5_MODEL_ID) return base;
  if (/smollm2/i.test(location)) return SMOLLM2_ID;
  return base;
}

/** Every file under `root` (recursively) whose name ends with `suffix`. */
function filesUnder(root: string, suffix: string): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const file = path.join(dir, name);
      if (statSync(file).isDirectory()) walk(file);
      else if (name.endsWith(suffix)) files.push(file);
    }
  };
  walk(root);
  return files;
}

const cache = new Map<string, { mtimeMs: number; value: unknown }>();

/**
 * What `read` makes of a committed file under bench/results, read again only when the file changed
 * (the benchmarks page asks on every visit). `read` gets the file's text, its id and its mtime.
 */
function readCommitted<T>(root: string, file: string, read: (text: string, id: string, mtime: Date) => T): T {
  const { mtimeMs, mtime } = statSync(file);
  const hit = cache.get(file);
  if (hit && hit.mtimeMs === mtimeMs) return hit.value as T;
  const value = read(readFileSync(file, 'utf8'), `file:${path.relative(root, file)}`, mtime);
  cache.set(file, { mtimeMs, value });
  return value;
}

/** Every report file under `dir` (recursively), newest first; files that are not reports are skipped. */
export function committedResults(cwd = process.cwd()): BenchmarkRow[] {
  const root = path.resolve(/*turbopackIgnore: true*/ cwd, RESULTS_DIR);
  const rows = filesUnder(root, '.json').flatMap((file) => {
    const row = readCommitted(root, file, (text, id, mtime) => {
      let json: unknown = null;
      try {
        json = JSON.parse(text);
      } catch {
        json = null;
      }
      return isReport(json) ? summarizeReport(json, { id, source: 'committed', model: modelIdOf(json.model), dataset: datasetIdOf(json.dataset), at: mtime.toISOString() }) : null;
    });
    return row ? [row] : [];
  });
  return rows.sort((a, b) => b.at.localeCompare(a.at));
}

/** Rows of finished evaluation jobs (their result is the report, with model and dataset ids). */
export function jobResults(jobs: readonly JobSummary[]): BenchmarkRow[] {
  return jobs
    .filter((j) => j.kind === 'eval' && j.state === 'done' && isReport(j.result))
    .map((j) => {
      const report = j.result as ReportFile;
      return summarizeReport(report, { id: `job:${j.id}`, source: 'job', model: report.model, dataset: report.dataset, at: j.finishedAt ?? j.createdAt });
    });
}

/** What a `locus train` log (server/cli/train.ts) says of its run; null for other logs and unfinished runs. */
export function parseTrainLog(log: string): Omit<TrainingRun, 'id' | 'source' | 'at'> | null {
  const done = /^trained (\S+) for (\S+) in ([\d.]+) s \((\d+) steps(?:, resumed at (\d+))?\)/m.exec(log);
  if (!done) return null;
  const peak = /^peak engine memory ([\d.]+) MiB, peak RSS ([\d.]+) MiB/m.exec(log);
  return {
    method: done[1]!,
    model: modelIdOf(done[2]!),
    seconds: Number(done[3]),
    steps: Number(done[4]),
    resumedFrom: Number(done[5] ?? 0),
    peakBytes: peak ? Number(peak[1]) * 2 ** 20 : null,
    peakRssBytes: peak ? Number(peak[2]) * 2 ** 20 : null,
  };
}

/** The committed training logs under bench/results (`*train.log`; bench/BENCHMARKS.md names the commands). */
export function committedTraining(cwd = process.cwd()): TrainingRun[] {
  const root = path.resolve(/*turbopackIgnore: true*/ cwd, RESULTS_DIR);
  return filesUnder(root, 'train.log').flatMap((file) => {
    const run = readCommitted(root, file, (text, id, mtime): TrainingRun | null => {
      const parsed = parseTrainLog(text);
      return parsed && { ...parsed, id, source: 'committed', at: mtime.toISOString() };
    });
    return run ? [run] : [];
  });
}

/** Finished train jobs of this studio. */
export function jobTraining(jobs: readonly JobSummary[]): TrainingRun[] {
  return jobs.flatMap((j) => {
    const r = TrainJobResult.safeParse(j.result);
    if (j.kind !== 'train' || j.state !== 'done' || !r.success) return [];
    const { method, steps, resumedFrom, seconds, peakBytes, peakRssBytes } = r.data;
    return [{ id: `job:${j.id}`, source: 'job' as const, model: j.model, method, steps, resumedFrom, seconds, peakBytes, peakRssBytes, at: j.finishedAt ?? j.createdAt }];
  });
}
