/**
 * `locus eval` (also `npm run eval --`): scores a method on a CounterFact / zsRE / KnowEdit file
 * (server/eval). For methods that read statistics (ROME, MEMIT: `Editor.needs.secondMoments`) the second
 * moments of the hparams' `layer`/`layers` are computed before the edit clock starts, as is a
 * method's own one-off setup (T-Patcher's memory); --stats-layers overrides the layers. Prints a Markdown table and writes the full report as JSON (--out).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatCurve, formatTable, type EvalMode } from '../../lib/eval';
import { ContextTemplates } from '../editing/context-templates';
import { TrainedEditorStore } from '../editing/trained/store';
import { loadEvalCases } from '../eval/datasets';
import { evaluate, type EvalProgress } from '../eval/runner';
import { editorId, hparamsJson, integer, integers, methodHparams, required, UsageError } from './args';
import { checkModelPath, cliSecondMoments, cliStatsSource, loadEditableModel, seconds } from './model';
import { Progress } from './progress';

const MODES: EvalMode[] = ['single', 'batch', 'sequential'];

export const usage = `locus eval --model <dir|.gguf> --dataset <file.json> [--method rome] [--n 20] [--offset 0]
    [--mode ${MODES.join('|')}] [--batch-size 10] [--checkpoints 1,10,100] [--hparams '{"layer":1,"factToken":"last"}']
    [--stats-text <file.txt | dir of .json>] [--stats-tokens 50000] [--stats-layers none|1,2] [--out x.json] [--quiet]
  Edits the dataset's cases one by one (single), in batches, or one after another (sequential), and
  prints EasyEdit's metrics before and after as a table.`;

export async function evalCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      method: { type: 'string', default: 'rome' },
      dataset: { type: 'string' },
      n: { type: 'string' },
      offset: { type: 'string' },
      mode: { type: 'string', default: 'single' },
      'batch-size': { type: 'string' },
      checkpoints: { type: 'string' },
      hparams: { type: 'string' },
      'stats-text': { type: 'string' },
      'stats-tokens': { type: 'string' },
      'stats-layers': { type: 'string' },
      out: { type: 'string' },
      quiet: { type: 'boolean', default: false },
    },
  });
  required(values, ['model', 'dataset']);
  const method = editorId(values.method);
  const mode = values.mode as EvalMode;
  if (!MODES.includes(mode)) throw new UsageError(`--mode must be one of ${MODES.join(', ')}, got ${JSON.stringify(values.mode)}`);
  const given = hparamsJson(values.hparams);
  const checkpoints = values.checkpoints === undefined ? (mode === 'sequential' ? [1, 10, 100] : undefined) : integers('checkpoints', values.checkpoints);
  const statsLayers = values['stats-layers'] === undefined ? undefined : values['stats-layers'] === 'none' ? [] : integers('stats-layers', values['stats-layers']);
  const batchSize = integer('batch-size', values['batch-size'], 1);
  const statsTokens = integer('stats-tokens', values['stats-tokens'], 1);
  const offset = integer('offset', values.offset) ?? 0;
  checkModelPath(values.model!);
  const source = cliStatsSource(values.model!, values['stats-text']);

  const progress = new Progress(process.stderr, { quiet: values.quiet });
  const loaded = await loadEvalCases(values.dataset!).catch((err: Error) => {
    throw new UsageError(`--dataset ${err.message}`); // unreadable, not JSON, or not an editing dataset
  });
  const n = integer('n', values.n) ?? loaded.cases.length;
  const cases = loaded.cases.slice(offset, offset + n);
  if (!cases.length) throw new UsageError(`${values.dataset}: no cases in [${offset}, ${offset + n})`);
  progress.log(`dataset ${values.dataset}: ${loaded.format}, ${loaded.cases.length} cases (${loaded.skipped.length} skipped), evaluating ${cases.length}`);
  for (const s of loaded.skipped.slice(0, 3)) progress.log(`  skipped record ${s.index}: ${s.reason}`);

  const lm = await loadEditableModel(values.model!, progress);
  const hparams = methodHparams(method, lm, given, values.model);
  const stats = cliSecondMoments(lm, values.model!, source, statsTokens, progress);
  progress.log(`statistics text: ${stats.description}`);

  const started = performance.now();
  const onProgress = (e: EvalProgress) => {
    if (values.quiet) return;
    if (e.type === 'setup') {
      progress.end();
      progress.log(`  ${e.stage}${e.layer === undefined ? '' : ` layer ${e.layer}`}: ${e.seconds.toFixed(1)} s`);
    } else if (e.type === 'pre') progress.log(`  pre-edit scores of ${e.cases} cases: ${e.seconds.toFixed(1)} s`);
    else if (e.type === 'edit') progress.update('edits', e.done, e.total, `${e.caseIds.at(-1)} ${e.seconds.toFixed(2)} s`);
    else if (e.type === 'checkpoint') progress.log(`  after ${e.edits} edits: reliability ${pct(e.averages.reliability)}, locality ${pct(e.averages.locality)}`);
  };
  const report = await evaluate({ lm, stats, templates: new ContextTemplates(lm), trained: TrainedEditorStore.forModel(values.model!) }, method, hparams, cases, { mode, batchSize, statsLayers, checkpoints, onProgress });
  progress.end();
  progress.log(`done in ${seconds(started)} s`);

  const out = process.stdout;
  const pre = report.averages.pre;
  out.write(`\n${formatTable([report])}\n\n`);
  out.write(`pre-edit: reliability ${pct(pre.reliability)}, generality ${pct(pre.generality)}, portability ${pct(pre.portability)}, efficacy ${pct(pre.efficacy?.score)}, neighbourhood ${pct(pre.neighbourhood?.score)}\n`);
  const em = report.averages.post.exactMatch;
  out.write(`post-edit greedy exact match: reliability ${pct(em.reliability)}, generality ${pct(em.generality)}, portability ${pct(em.portability)}\n`);
  const { setup } = report;
  // no layers but a text: the method's own setup (T-Patcher's memory) read the statistics text
  const statistics =
    setup.statsLayers.length || !setup.statsText ? `statistics ${setup.statsSeconds.toFixed(1)} s for layers [${setup.statsLayers}] from ${setup.statsText ?? '–'}` : `method setup ${setup.statsSeconds.toFixed(1)} s from ${setup.statsText}`;
  out.write(`setup (not in s/edit): ${statistics}; context templates ${setup.templatesSeconds.toFixed(1)} s\n`);
  out.write(`edit time ${report.editSeconds.toFixed(1)} s; peak engine memory ${(report.peakBytes / 2 ** 20).toFixed(1)} MiB, peak RSS ${(report.peakRssBytes / 2 ** 20).toFixed(0)} MiB\n`);
  const curve = formatCurve(report);
  if (curve) out.write(`\n${curve}\n`);
  if (values.out) {
    mkdirSync(path.dirname(values.out), { recursive: true });
    writeFileSync(values.out, `${JSON.stringify({ model: values.model, dataset: values.dataset, format: loaded.format, offset, ...report }, null, 1)}\n`);
    out.write(`wrote ${values.out}\n`);
  }
  lm.network.dispose();
}

function pct(v: number | null | undefined): string {
  return v === null || v === undefined ? '–' : (100 * v).toFixed(2);
}
