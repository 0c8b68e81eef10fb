/**
 * `locus train`: trains a method's editor network (MEND) for a model on a train split and stores it
 * under the data directory (server/editing/trained/store.ts), where `locus edit|eval --method mend`
 * and the studio find it. Interrupted runs resume from their last checkpoint (--restart: from scratch).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WORLD_DATASETS_DIR } from '../eval/catalog';
import { loadEvalCases } from '../eval/datasets';
import { TRAINERS, trainableIdOf, trainRecords } from '../editing/trained';
import { TrainedEditorStore } from '../editing/trained/store';
import { EditCancelled } from '../editing/editor';
import { dataDir } from '../storage/sqlite';
import { editorId, hparamsJson, integer, methodHparams, required, UsageError } from './args';
import { checkModelPath, loadEditableModel, seconds } from './model';
import { Progress } from './progress';

export const usage = `locus train --method ${Object.keys(TRAINERS).join('|')} --model <dir|.gguf> [--dataset <train file>[,<train file>...]]
    [--n 2000] [--hparams '{"steps":1000}'] [--data-dir <dir>] [--restart] [--quiet]
  Trains the method's editor on train splits (default the world's: ${Object.entries(TRAINERS)
    .map(([m, t]) => `${m} ${t.splits.join(' + ')}`)
    .join('; ')}, in data/world/datasets; --n: the first n records of each file) and saves it under
  <data dir>/editors/<model>/ (data dir: --data-dir, $LOCUS_DATA_DIR or .locus). A run stopped with
  Ctrl-C saves a checkpoint; the next run with the same settings resumes from it.`;

export async function train(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      method: { type: 'string' },
      dataset: { type: 'string' },
      n: { type: 'string' },
      hparams: { type: 'string' },
      'data-dir': { type: 'string' },
      restart: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
    },
  });
  required(values, ['model', 'method']);
  const method = editorId(values.method!);
  let trainable;
  try {
    trainable = trainableIdOf(method);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const given = hparamsJson(values.hparams);
  const n = integer('n', values.n, 2);
  checkModelPath(values.model!);
  const dataset = values.dataset ?? TRAINERS[trainable].splits.map((name) => path.join(WORLD_DATASETS_DIR, `${name}.json`)).join(',');
  const progress = new Progress(process.stderr, { quiet: values.quiet });
  const records = [];
  for (const file of dataset.split(',')) {
    if (!existsSync(file)) throw new UsageError(`--dataset ${file}: not found`);
    const loaded = await loadEvalCases(file).catch((err: Error) => {
      throw new UsageError(`--dataset ${err.message}`);
    });
    const usable = trainRecords(loaded.cases.slice(0, n ?? loaded.cases.length));
    progress.log(`dataset ${file}: ${loaded.format}, ${usable.records.length} training records${usable.skipped ? ` (${usable.skipped} without a locality prompt skipped)` : ''}`);
    records.push(...usable.records);
  }
  if (records.length < 2) throw new UsageError(`--dataset ${dataset}: ${records.length} usable records (each needs a locality prompt)`);

  const lm = await loadEditableModel(values.model!, progress);
  const hparams = methodHparams(method, lm, given, values.model);
  const store = TrainedEditorStore.forModel(values.model!, values['data-dir'] ?? dataDir());
  progress.log(`hparams ${JSON.stringify(hparams)}`);

  const controller = new AbortController();
  const onSigint = () => {
    progress.log('stopping: saving a checkpoint (Ctrl-C again to quit at once)');
    process.off('SIGINT', onSigint);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  const started = performance.now();
  let smoothed: number | undefined;
  try {
    const result = await TRAINERS[trainable].train(lm, store, records, hparams, {
      signal: controller.signal,
      restart: values.restart,
      onProgress: (e) => {
        if (e.type === 'stage') progress.log(`  ${e.stage}${e.detail ? `: ${e.detail}` : ''}`);
        else if (e.type === 'checkpoint') progress.log(`  checkpoint at step ${e.step}: ${e.file}`);
        else {
          smoothed = smoothed === undefined ? e.loss : 0.95 * smoothed + 0.05 * e.loss;
          const terms = Object.entries(e.terms).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ');
          progress.update('training', e.step, e.steps, `loss ${smoothed.toFixed(4)} (${terms})`);
        }
      },
    });
    progress.end();
    const out = process.stdout;
    out.write(`trained ${method} for ${values.model} in ${seconds(started)} s (${result.steps} steps${result.resumedFrom ? `, resumed at ${result.resumedFrom}` : ''})\n`);
    out.write(`mean over the last ${Math.min(50, result.steps - result.resumedFrom)} steps: ${Object.entries(result.final).map(([k, v]) => `${k} ${v.toPrecision(4)}`).join(', ')}\n`);
    out.write(`peak engine memory ${(result.peakBytes / 2 ** 20).toFixed(1)} MiB, peak RSS ${(result.peakRssBytes / 2 ** 20).toFixed(0)} MiB\n`);
    out.write(`wrote ${result.file}\n`);
  } catch (error) {
    if (error instanceof EditCancelled) {
      progress.end();
      throw new Error(`stopped; the checkpoint in ${store.dir} resumes the next run with the same settings`);
    }
    throw error;
  } finally {
    process.off('SIGINT', onSigint);
    lm.network.dispose();
  }
}
