/**
 * The evaluation command line.
 *
 *   npm run eval -- --model data/models/world-gpt2 --method rome \
 *     --dataset data/world/datasets/counterfact-test.json --n 20 --mode single \
 *     [--hparams '{"layer":1,"factToken":"last"}'] [--batch-size 10] [--checkpoints 1,10,100] \
 *     [--offset 0] [--stats-text <file.txt | dir of .json>] [--stats-tokens 50000] [--out x.json]
 *     [--stats-layers none|1,2]
 *
 * The second moments of the hparams' `layer`/`layers` are computed before the edit clock starts;
 * --stats-layers overrides that guess (none: for methods that read no statistics, FT and KN).
 * Second-moment text: a .txt file (one sample per line) or a folder of JSON files (their English
 * sentences). Default: the world corpus (data/world/corpus.txt) for a checkpoint folder, the
 * sentences of ../shared/data/editing for a GGUF. Statistics are cached under
 * ${LOCUS_CACHE:-~/.cache/locus}/stats. Prints a Markdown table and writes the full report as JSON.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatCurve, formatTable, type EvalMode } from '../../lib/eval';
import { ContextTemplates } from '../editing/context-templates';
import { EDITORS, type EditorId } from '../editing/index';
import { SecondMoments, type StatsSource } from '../editing/stats/second-moment';
import { jsonSentencesSource, linesSource } from '../editing/stats/texts';
import { CpuBackend, Engine } from '../engine';
import { loadLanguageModel } from '../models/load';
import { locusCacheDir } from '../models/registry';
import { loadEvalCases } from './datasets';
import { evaluate, type EvalProgress } from './runner';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MODES: EvalMode[] = ['single', 'batch', 'sequential'];

function fail(message: string): never {
  process.stderr.write(`eval: ${message}\n`);
  process.exit(2);
}

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) fail(`--${name} must be a non-negative integer, got "${value}"`);
  return n;
}

/** The text the second moments are computed from, and why that one. */
function statsSource(model: string, override: string | undefined): StatsSource {
  if (override) {
    if (!existsSync(override)) fail(`--stats-text ${override}: not found`);
    return statSync(override).isDirectory() ? jsonSentencesSource(override) : linesSource(override);
  }
  if (model.endsWith('.gguf')) {
    const dir = path.resolve(ROOT, '../shared/data/editing');
    if (!existsSync(dir)) fail(`no statistics text: ${dir} is missing; pass --stats-text`);
    return jsonSentencesSource(dir);
  }
  const corpus = path.join(ROOT, 'data/world/corpus.txt');
  if (!existsSync(corpus)) fail(`no statistics text: ${corpus} is missing; pass --stats-text`);
  return linesSource(corpus, 'data/world/corpus.txt');
}

async function main(argv: string[]): Promise<void> {
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
  if (!values.model || !values.dataset) fail('usage: npm run eval -- --model <dir|.gguf> --method rome --dataset <file.json> [--n 20] [--mode single|batch|sequential] [--hparams JSON] [--out file.json]');
  if (!(values.method! in EDITORS)) fail(`unknown method "${values.method}" (known: ${Object.keys(EDITORS).join(', ')})`);
  const method = values.method as EditorId;
  const mode = values.mode as EvalMode;
  if (!MODES.includes(mode)) fail(`--mode must be one of ${MODES.join(', ')}, got "${values.mode}"`);
  let hparams: Record<string, unknown> = {};
  if (values.hparams) {
    try {
      hparams = JSON.parse(values.hparams) as Record<string, unknown>;
    } catch (err) {
      fail(`--hparams is not JSON: ${(err as Error).message}`);
    }
  }
  const checkpoints = values.checkpoints?.split(',').map((k) => integer('checkpoints', k)!) ?? (mode === 'sequential' ? [1, 10, 100] : undefined);

  const loaded = await loadEvalCases(values.dataset);
  const offset = integer('offset', values.offset) ?? 0;
  const n = integer('n', values.n) ?? loaded.cases.length;
  const cases = loaded.cases.slice(offset, offset + n);
  if (!cases.length) fail(`${values.dataset}: no cases in [${offset}, ${offset + n})`);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(`dataset ${values.dataset}: ${loaded.format}, ${loaded.cases.length} cases (${loaded.skipped.length} skipped), evaluating ${cases.length}`);
  for (const s of loaded.skipped.slice(0, 3)) log(`  skipped record ${s.index}: ${s.reason}`);

  const engine = new Engine(new CpuBackend());
  const lm = await loadLanguageModel(engine, values.model);
  const modelId = path.basename(values.model);
  const source = statsSource(values.model, values['stats-text']);
  const maxTokens = integer('stats-tokens', values['stats-tokens']) ?? 50_000;
  const cacheDir = path.join(locusCacheDir(), 'stats');
  const stats = new SecondMoments(lm, modelId, source, { maxTokens, maxLength: 128, batchSize: 64, cacheDir }, (e) => {
    if (e.type === 'stats' && !values.quiet) process.stderr.write(`\r  stats layer ${e.layer}: ${e.tokens}/${e.total} tokens`);
  });
  log(`model ${values.model}; statistics text: ${stats.description} (cache ${cacheDir})`);

  const started = performance.now();
  const onProgress = (e: EvalProgress) => {
    if (values.quiet) return;
    if (e.type === 'setup') log(`\r  ${e.stage}${e.layer === undefined ? '' : ` layer ${e.layer}`}: ${e.seconds.toFixed(1)} s`);
    else if (e.type === 'pre') log(`  pre-edit scores of ${e.cases} cases: ${e.seconds.toFixed(1)} s`);
    else if (e.type === 'edit') process.stderr.write(`\r  edited ${e.done}/${e.total} (${e.caseIds.at(-1)}, ${e.seconds.toFixed(2)} s)   `);
    else if (e.type === 'checkpoint') log(`\n  after ${e.edits} edits: reliability ${pct(e.averages.reliability)}, locality ${pct(e.averages.locality)}`);
  };
  const report = await evaluate({ lm, stats, templates: new ContextTemplates(lm) }, method, hparams, cases, {
    mode,
    batchSize: integer('batch-size', values['batch-size']),
    statsLayers: values['stats-layers'] === undefined ? undefined : values['stats-layers'] === 'none' ? [] : values['stats-layers'].split(',').map((l) => integer('stats-layers', l)!),
    checkpoints,
    onProgress,
  });
  log(`\ndone in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const pre = report.averages.pre;
  process.stdout.write(`\n${formatTable([report])}\n\n`);
  process.stdout.write(`pre-edit: reliability ${pct(pre.reliability)}, generality ${pct(pre.generality)}, portability ${pct(pre.portability)}, efficacy ${pct(pre.efficacy?.score)}, neighbourhood ${pct(pre.neighbourhood?.score)}\n`);
  const em = report.averages.post.exactMatch;
  process.stdout.write(`post-edit greedy exact match: reliability ${pct(em.reliability)}, generality ${pct(em.generality)}, portability ${pct(em.portability)}\n`);
  process.stdout.write(
    `setup (not in s/edit): statistics ${report.setup.statsSeconds.toFixed(1)} s for layers [${report.setup.statsLayers}] from ${report.setup.statsText ?? '–'}; context templates ${report.setup.templatesSeconds.toFixed(1)} s\n`,
  );
  process.stdout.write(`edit time ${report.editSeconds.toFixed(1)} s; peak engine memory ${(report.peakBytes / 2 ** 20).toFixed(1)} MiB, peak RSS ${(report.peakRssBytes / 2 ** 20).toFixed(0)} MiB\n`);
  const curve = formatCurve(report);
  if (curve) process.stdout.write(`\n${curve}\n`);
  if (values.out) {
    mkdirSync(path.dirname(values.out), { recursive: true });
    writeFileSync(values.out, `${JSON.stringify({ model: values.model, dataset: values.dataset, format: loaded.format, offset, ...report }, null, 1)}\n`);
    process.stdout.write(`wrote ${values.out}\n`);
  }
  lm.network.dispose();
}

function pct(v: number | null | undefined): string {
  return v === null || v === undefined ? '–' : (100 * v).toFixed(2);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`eval: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
