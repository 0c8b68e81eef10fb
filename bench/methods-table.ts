/**
 * Issue 11's tables for the ten methods on one model, in the seed paper's Table 2-4 shape, from the
 * `locus eval --out` reports and `locus train` logs of one results folder (bench/world-eval.sh names
 * them): single edits with time and memory, batch editing at 1 / 10 / 100, sequential editing after
 * 1 / 10 / 100 edits.
 *   npx tsx bench/methods-table.ts bench/results/world
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Averages, EvalReport } from '../lib/eval';
import { parseTrainLog } from '../server/eval/results';

/** Which run of each method fills its rows (a method may have several reports: this is the one the tables use). */
const METHODS: { method: string; single: string; batch?: [string, string]; sequential: string; train?: string }[] = [
  { method: 'FT-L', single: 'ft-l-single-200', batch: ['ft-l-batch-10', 'ft-l-batch-100'], sequential: 'ft-l-sequential-100' },
  { method: 'FT-M', single: 'ft-m-single-200', batch: ['ft-m-batch-10', 'ft-m-batch-100'], sequential: 'ft-m-sequential-100' },
  { method: 'KN', single: 'kn-single-200', sequential: 'kn-sequential-100' },
  { method: 'ROME', single: 'rome-single-200-bare', sequential: 'rome-sequential-100-bare' },
  { method: 'MEMIT', single: 'memit-single-200-bare', batch: ['memit-batch-10-bare', 'memit-batch-100-bare'], sequential: 'memit-sequential-100-bare' },
  { method: 'MEND', single: 'mend-300steps-single-200', batch: ['mend-batch-10', 'mend-batch-100'], sequential: 'mend-sequential-100', train: 'mend-300steps-retrain' },
  { method: 'SERAC', single: 'serac-single-200', batch: ['serac-batch-10', 'serac-batch-100'], sequential: 'serac-sequential-100', train: 'serac-train' },
  { method: 'T-Patcher', single: 'tpatcher-single-200', batch: ['tpatcher-batch-10', 'tpatcher-batch-100'], sequential: 'tpatcher-sequential-100' },
  { method: 'KE', single: 'ke-single-100', sequential: 'ke-sequential-100', train: 'ke-train' },
  { method: 'CaliNET', single: 'calinet-single-200', batch: ['calinet-batch-10', 'calinet-batch-100'], sequential: 'calinet-sequential-100' },
];

const dir = process.argv[2] ?? '';
if (!dir) {
  process.stderr.write('usage: npx tsx bench/methods-table.ts <folder of locus eval --out reports>\n');
  process.exit(2);
}

function report(name: string): EvalReport | null {
  const file = path.join(dir, `${name}.json`);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as EvalReport) : null;
}

/** Training time and steps from a `locus train` log. */
function training(name: string | undefined): string {
  if (!name) return '–';
  const file = path.join(dir, `${name}.log`);
  if (!existsSync(file)) return 'not run';
  const run = parseTrainLog(readFileSync(file, 'utf8'));
  return run ? `${(run.seconds / 60).toFixed(1)} min (${run.steps} steps)` : 'not finished';
}

const pct = (v: number | null | undefined) => (v === null || v === undefined ? '–' : (100 * v).toFixed(2));
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)}`;
const triple = (a: Pick<Averages, 'reliability' | 'generality' | 'locality'> | undefined) => (a ? `${pct(a.reliability)} / ${pct(a.generality)} / ${pct(a.locality)}` : '–');

const out: string[] = [];
out.push('| method | N | reliability | generality | locality | portability | s/edit | peak engine / RSS MiB | training |', '|---|---|---|---|---|---|---|---|---|');
for (const m of METHODS) {
  const r = report(m.single);
  if (!r) {
    out.push(`| ${m.method} | not run | | | | | | | ${training(m.train)} |`);
    continue;
  }
  const a = r.averages.post;
  const mode = r.mode === 'batch' ? ` (batch ${r.batchSize})` : '';
  out.push(`| ${m.method}${mode} | ${a.cases} | ${pct(a.reliability)} | ${pct(a.generality)} | ${pct(a.locality)} | ${pct(a.portability)} | ${r.secondsPerEdit.toFixed(3)} | ${mib(r.peakBytes)} / ${mib(r.peakRssBytes)} | ${training(m.train)} |`);
}

out.push('', 'Batch editing (reliability / generality / locality; batch size 1 is the single-edit run):', '');
out.push('| method | 1 | 10 | 100 |', '|---|---|---|---|');
for (const m of METHODS) {
  if (!m.batch) {
    out.push(`| ${m.method} | ${triple(report(m.single)?.averages.post)} | one request per call | one request per call |`);
    continue;
  }
  const single = report(m.single);
  out.push(`| ${m.method} | ${single?.mode === 'single' ? triple(single.averages.post) : '–'} | ${m.batch.map((b) => triple(report(b)?.averages.post)).join(' | ')} |`);
}

out.push('', 'Sequential editing (reliability / generality / locality of all earlier edits after k edits):', '');
out.push('| method | 1 | 10 | 100 |', '|---|---|---|---|');
for (const m of METHODS) {
  const r = report(m.sequential);
  const at = (k: number) => triple(r?.checkpoints?.find((c) => c.edits === k)?.averages);
  out.push(`| ${m.method} | ${at(1)} | ${at(10)} | ${at(100)} |`);
}
process.stdout.write(out.join('\n') + '\n');
