/**
 * Merges `locus eval --out` reports of shards of one run (same method and hparams, disjoint cases) into
 * one report, averages recomputed over all cases.
 *   npx tsx bench/merge-reports.ts out.json shard0.json shard1.json ...
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { average, type EvalReport as RunnerReport } from '../lib/eval';

/** The CLI adds the first case's offset (and the model and dataset) to the runner's report. */
type EvalReport = RunnerReport & { offset: number };

const [out, ...files] = process.argv.slice(2);
if (!out || !files.length) {
  process.stderr.write('usage: npx tsx bench/merge-reports.ts <out.json> <shard.json>...\n');
  process.exit(2);
}
const shards = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as EvalReport).sort((a, b) => a.offset - b.offset);
const first = shards[0]!;
for (const s of shards) {
  if (s.mode !== 'single' || s.editorId !== first.editorId || JSON.stringify(s.hparams) !== JSON.stringify(first.hparams)) throw new Error('merge-reports: shards differ in mode, method or hparams (only single-edit runs merge)');
}
const cases = shards.flatMap((s) => s.cases);
const editSeconds = shards.reduce((t, s) => t + s.editSeconds, 0);
const merged: EvalReport = {
  ...first,
  editSeconds,
  secondsPerEdit: editSeconds / cases.length,
  peakBytes: Math.max(...shards.map((s) => s.peakBytes)),
  peakRssBytes: Math.max(...shards.map((s) => s.peakRssBytes)),
  averages: { pre: average(cases.map((c) => c.pre)), post: average(cases.map((c) => c.post)) },
  cases,
};
writeFileSync(out, JSON.stringify(merged, null, 1));
process.stdout.write(`${out}: ${cases.length} cases from ${shards.length} shards\n`);
