/**
 * Gathers `locus eval --out` reports into one Markdown file: the seed paper's Table 2-4 shape for the
 * single and batch runs, and one curve per sequential run.
 *   npx tsx bench/eval-table.ts bench/results/world > bench/results/world/TABLE.md
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { formatCurve, formatTable, type EvalReport } from '../lib/eval';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: npx tsx bench/eval-table.ts <folder of locus eval --out reports>\n');
  process.exit(2);
}
const reports = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  // the CLI adds the model and dataset it ran on to the runner's report
  .map((f) => ({ file: f, report: JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as EvalReport & { model?: string; dataset?: string } }));
const hparams = (r: EvalReport) => JSON.stringify(r.hparams);
const out: string[] = [`# Evaluation results in ${dir}`, '', `Model ${reports[0]?.report.model ?? '–'}, dataset ${reports[0]?.report.dataset ?? '–'}; percent, EasyEdit's metrics.`, ''];
const once = reports.filter(({ report }) => report.mode !== 'sequential');
out.push(formatTable(once.map((r) => r.report)), '');
for (const { file, report } of once) out.push(`- ${report.method} (${file}): hparams \`${hparams(report)}\``);
for (const { file, report } of reports.filter(({ report }) => report.mode === 'sequential')) {
  out.push('', `## Sequential editing: ${report.method} (${file})`, '', `hparams \`${hparams(report)}\`; all earlier edits scored after k edits.`, '', formatCurve(report));
}
process.stdout.write(out.join('\n') + '\n');
