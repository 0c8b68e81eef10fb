/**
 * Training MEND's editor networks on an edit train split (eric-mitchell/mend trainer.py, algs/mend.py):
 * each step edits a batch of records with the current editor, scores the edited model on the edit
 * prompt and its paraphrases (NLL of the new target) and on an unrelated prompt (KL to the model
 * before the edit), and takes one Adam step on the editor networks and one on the per-weight α.
 * Checkpoints (networks, normalisers, Adam moments, step) are written every `checkpointEvery`
 * steps and when cancelled; a new run with the same settings resumes from the checkpoint.
 */
import { mulberry32 } from '../../../lib/random';
import { Adam } from '../../engine/optim';
import type { LanguageModel } from '../../models/lm';
import { EditCancelled } from '../editor';
import type { TrainedEditorStore } from '../trained/store';
import { MendNetworks } from './editor-net';
import { MEND_ARCHITECTURE, type MendHparams } from './hparams';
import { metaLoss, type MetaExample } from './meta';

/** One record of a train split (zsRE: src, alt, rephrase, loc, loc_ans). */
export interface TrainRecord {
  /** The edit prompt, subject filled in. */
  prompt: string;
  /** The new target, with its leading space. */
  target: string;
  paraphrases: string[];
  loc: { prompt: string; answer: string };
}

export type TrainProgress =
  | { type: 'stage'; stage: string; detail?: string }
  | { type: 'train'; step: number; steps: number; loss: number; terms: { edit: number; loc: number; preEdit: number }; seconds: number }
  | { type: 'checkpoint'; step: number; file: string };

export interface TrainResult {
  method: 'mend';
  file: string;
  /** Steps taken in all, and where this run started (0, or a checkpoint's step). */
  steps: number;
  resumedFrom: number;
  /** Wall time of this run's steps. */
  seconds: number;
  /** Mean loss terms over the last min(50, steps) steps of this run. */
  final: { loss: number; edit: number; loc: number; preEdit: number };
  peakBytes: number;
  peakRssBytes: number;
}

export interface TrainOptions {
  onProgress?: (event: TrainProgress) => void;
  signal?: AbortSignal;
  /** Start from scratch even when a checkpoint exists. */
  restart?: boolean;
}

/** The records as tokens; records without a paraphrase are edited and scored on the prompt alone. */
export function tokenize(lm: LanguageModel, records: readonly TrainRecord[]): MetaExample[] {
  const target = (text: string) => {
    const ids = lm.tokenizer.encode(text, { addSpecialTokens: false }).ids;
    if (!ids.length) throw new Error(`MEND: target ${JSON.stringify(text)} has no tokens`);
    return ids;
  };
  return records.map((r) => {
    const t = target(r.target);
    return {
      edit: { prompt: lm.encode(r.prompt), target: t },
      outer: [r.prompt, ...r.paraphrases].map((p) => ({ prompt: lm.encode(p), target: t })),
      loc: { prompt: lm.encode(r.loc.prompt), target: target(r.loc.answer) },
    };
  });
}

/** The settings a checkpoint must share with a run to be resumed by it (all but steps and checkpointEvery). */
function trainingKey(hp: MendHparams): string {
  const rest: Partial<MendHparams> = { ...hp };
  delete rest.steps;
  delete rest.checkpointEvery;
  return JSON.stringify(rest);
}

/** A seeded permutation of 0..n-1 (Fisher-Yates), so step s always sees the same records. */
function permutation(n: number, seed: number): number[] {
  const random = mulberry32(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

export async function trainMend(lm: LanguageModel, store: TrainedEditorStore, records: readonly TrainRecord[], hp: MendHparams, opts: TrainOptions = {}): Promise<TrainResult> {
  if (records.length < 2) throw new Error(`MEND: training needs at least 2 records, got ${records.length}`);
  const engine = lm.engine;
  const examples = tokenize(lm, records);
  const order = permutation(examples.length, hp.seed);
  const nets = new MendNetworks(engine, lm.network, hp);
  const params = nets.parameters();
  const netOptimizer = new Adam(params, { lr: hp.lr });
  const alphaOptimizer = new Adam(nets.alphas, { lr: hp.lrLr });
  const editorFile = store.file('mend', hp.layers);
  const checkpointFile = store.file('mend', hp.layers, 'checkpoint');
  const emit = opts.onProgress ?? (() => {});

  let priorSeconds = 0;
  let started = performance.now();
  const saveCheckpoint = async (step: number) => {
    const tensors = nets.values();
    for (const [label, optimizer] of [['net', netOptimizer], ['alpha', alphaOptimizer]] as const) {
      const state = optimizer.state();
      state.m.forEach((m, i) => m && tensors.set(`adam.${label}.m.${i}`, m));
      state.v.forEach((v, i) => v && tensors.set(`adam.${label}.v.${i}`, v));
      tensors.set(`adam.${label}.t`, Float32Array.of(state.t));
    }
    const trainSeconds = priorSeconds + (performance.now() - started) / 1000;
    await store.write(checkpointFile, tensors, { method: 'mend', step, key: trainingKey(hp), hparams: hp, trainSeconds });
    emit({ type: 'checkpoint', step, file: checkpointFile });
  };

  let start = 0;
  try {
    const checkpoint = opts.restart ? null : await store.read(checkpointFile);
    if (checkpoint && checkpoint.meta.key === trainingKey(hp)) {
      nets.load(checkpoint.tensors);
      for (const [label, optimizer, count] of [['net', netOptimizer, params.length], ['alpha', alphaOptimizer, nets.alphas.length]] as const) {
        const pick = (kind: 'm' | 'v') => Array.from({ length: count }, (_, i) => checkpoint.tensors.get(`adam.${label}.${kind}.${i}`) ?? null);
        optimizer.loadState({ t: checkpoint.tensors.get(`adam.${label}.t`)![0]!, m: pick('m'), v: pick('v') });
      }
      start = Number(checkpoint.meta.step);
      priorSeconds = Number(checkpoint.meta.trainSeconds ?? 0);
      emit({ type: 'stage', stage: 'resume', detail: `from step ${start} of ${checkpointFile}` });
    } else if (checkpoint) {
      emit({ type: 'stage', stage: 'restart', detail: `the checkpoint ${checkpointFile} was trained with other settings` });
    }
    emit({ type: 'stage', stage: 'train', detail: `${records.length} records, layers ${hp.layers.join(',')} (${hp.projections.join('+')}), ${params.reduce((n, p) => n + p.size, 0)} editor parameters` });

    started = performance.now();
    const recent: { loss: number; edit: number; loc: number; preEdit: number }[] = [];
    let peakBytes = 0;
    let peakRssBytes = 0;
    let step = start;
    for (; step < hp.steps; step++) {
      if (opts.signal?.aborted) {
        await saveCheckpoint(step);
        throw new EditCancelled();
      }
      const batch = Array.from({ length: hp.editsPerStep }, (_, i) => examples[order[(step * hp.editsPerStep + i) % examples.length]!]!);
      const terms = engine.tidy(() => {
        const m = metaLoss(lm.network, nets, batch, { cedit: hp.cedit, cloc: hp.cloc, learnNorms: true });
        const loss = m.total.valuesSync()[0]!;
        peakBytes = Math.max(peakBytes, engine.memory().bytes);
        engine.backward(m.total);
        return { loss, edit: m.edit, loc: m.loc, preEdit: m.pre };
      });
      if (!Number.isFinite(terms.loss)) throw new Error(`MEND: the meta-loss is ${terms.loss} at step ${step}; lower lr or editLr`);
      netOptimizer.step();
      alphaOptimizer.step();
      netOptimizer.zeroGrad();
      alphaOptimizer.zeroGrad();
      peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss);
      recent.push(terms);
      if (recent.length > 50) recent.shift();
      emit({ type: 'train', step: step + 1, steps: hp.steps, loss: terms.loss, terms: { edit: terms.edit, loc: terms.loc, preEdit: terms.preEdit }, seconds: (performance.now() - started) / 1000 });
      if ((step + 1) % hp.checkpointEvery === 0 && step + 1 < hp.steps) await saveCheckpoint(step + 1);
      await new Promise((r) => setImmediate(r));
    }
    const seconds = (performance.now() - started) / 1000;
    const mean = (k: keyof (typeof recent)[number]) => (recent.length ? recent.reduce((s, r) => s + r[k], 0) / recent.length : NaN);
    const final = { loss: mean('loss'), edit: mean('edit'), loc: mean('loc'), preEdit: mean('preEdit') };
    const architecture = Object.fromEntries(MEND_ARCHITECTURE.map((k) => [k, hp[k]]));
    const spec = lm.network.spec;
    const trainSeconds = priorSeconds + seconds;
    await store.write(editorFile, nets.values(), {
      method: 'mend',
      architecture,
      hparams: hp,
      steps: step,
      records: records.length,
      trainSeconds,
      final,
      spec: { family: spec.family, layers: spec.layers, hidden: spec.hidden, mlpHidden: spec.mlpHidden, vocabSize: spec.vocabSize },
    });
    store.remove(checkpointFile);
    return { method: 'mend', file: editorFile, steps: step, resumedFrom: start, seconds, final, peakBytes, peakRssBytes };
  } finally {
    netOptimizer.dispose();
    alphaOptimizer.dispose();
    nets.dispose();
  }
}
