/**
 * The training loop every trained editor shares (MEND, KE): each step takes a batch of train
 * records, asks the method for its meta-loss (a graph tensor over the editor's parameters), and takes
 * one Adam step per parameter group. Checkpoints (parameters, Adam moments, step, time so far) are
 * written every `checkpointEvery` steps and when cancelled; a run whose settings match the
 * checkpoint's resumes from it. The finished editor replaces the checkpoint.
 */
import { mulberry32 } from '../../../lib/random';
import type { Tensor } from '../../engine';
import { Adam } from '../../engine/optim';
import type { EditableLM } from '../../models/editable';
import { EditCancelled } from '../editor';
import type { TrainedEditorStore } from './store';

/** One record of a train split (zsRE: src, alt, rephrase, loc, loc_ans). */
export interface TrainRecord {
  /** The edit prompt, subject filled in. */
  prompt: string;
  /** The subject, as it appears in the prompt (SERAC puts other subjects in its place for negatives). */
  subject?: string;
  /** The new target, with its leading space. */
  target: string;
  /** The old answer, when the split gives it (KE conditions on it). */
  targetTrue?: string;
  paraphrases: string[];
  loc: { prompt: string; answer: string };
  /** Every locality prompt of the record (`loc` is the first); SERAC's negatives. */
  locality?: { prompt: string; answer: string }[];
  /** Questions whose answers follow from the edit, with those answers (SERAC counts them in its scope). */
  portability?: { prompt: string; target: string }[];
}

export type TrainProgress =
  | { type: 'stage'; stage: string; detail?: string }
  | { type: 'train'; step: number; steps: number; loss: number; terms: Record<string, number>; seconds: number }
  | { type: 'checkpoint'; step: number; file: string };

export interface TrainResult {
  method: string;
  file: string;
  /** Steps taken in all, and where this run started (0, or a checkpoint's step). */
  steps: number;
  resumedFrom: number;
  /** Wall time of this run's steps. */
  seconds: number;
  /** Mean loss and terms over the last min(50, steps) steps of this run. */
  final: Record<string, number>;
  peakBytes: number;
  peakRssBytes: number;
}

export interface TrainOptions {
  onProgress?: (event: TrainProgress) => void;
  signal?: AbortSignal;
  /** Start from scratch even when a checkpoint exists. */
  restart?: boolean;
}

/** What a method trains: parameter groups (one Adam each) and how they are saved and loaded. */
export interface TrainableNetworks {
  groups: { params: Tensor[]; lr: number }[];
  values(): Map<string, Float32Array>;
  load(values: ReadonlyMap<string, Float32Array>): void;
  dispose(): void;
}

export interface TrainLoopSpec<E> {
  method: string;
  store: TrainedEditorStore;
  layers: readonly number[];
  hp: { steps: number; checkpointEvery: number; editsPerStep: number; seed: number };
  /** Settings a checkpoint must share with this run to be resumed (all but steps and checkpointEvery). */
  key: string;
  nets: TrainableNetworks;
  examples: readonly E[];
  /** The meta-loss of a batch, inside a tidy scope: `total` is backpropagated. */
  loss(batch: readonly E[]): { total: Tensor; terms: Record<string, number> };
  /** Metadata of the finished editor's file (architecture, hparams...). */
  meta: Record<string, unknown>;
  /** Described in the 'train' stage event. */
  detail: string;
}

/** A seeded permutation of 0..n-1 (Fisher-Yates), so step s always sees the same records. */
export function permutation(n: number, seed: number): number[] {
  const random = mulberry32(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** The spec's model as a shape summary, stored with the editor and checked when it loads. */
export function specSummary(lm: EditableLM) {
  const s = lm.editSpec;
  return { family: s.family, layers: s.layers, hidden: s.hidden, mlpHidden: s.mlpHidden, vocabSize: s.vocabSize };
}

export async function trainLoop<E>(lm: EditableLM, spec: TrainLoopSpec<E>, opts: TrainOptions = {}): Promise<TrainResult> {
  const { store, hp, nets, examples } = spec;
  if (examples.length < 2) throw new Error(`${spec.method}: training needs at least 2 records, got ${examples.length}`);
  const engine = lm.engine;
  const order = permutation(examples.length, hp.seed);
  const optimizers = nets.groups.map((g) => new Adam(g.params, { lr: g.lr }));
  const editorFile = store.file(spec.method, spec.layers);
  const checkpointFile = store.file(spec.method, spec.layers, 'checkpoint');
  const emit = opts.onProgress ?? (() => {});
  let priorSeconds = 0;
  let started = performance.now();

  const saveCheckpoint = async (step: number) => {
    const tensors = nets.values();
    optimizers.forEach((optimizer, g) => {
      const state = optimizer.state();
      state.m.forEach((m, i) => m && tensors.set(`adam.${g}.m.${i}`, m));
      state.v.forEach((v, i) => v && tensors.set(`adam.${g}.v.${i}`, v));
      tensors.set(`adam.${g}.t`, Float32Array.of(state.t));
    });
    const trainSeconds = priorSeconds + (performance.now() - started) / 1000;
    await store.write(checkpointFile, tensors, { method: spec.method, step, key: spec.key, trainSeconds });
    emit({ type: 'checkpoint', step, file: checkpointFile });
  };

  let start = 0;
  try {
    const checkpoint = opts.restart ? null : await store.read(checkpointFile);
    if (checkpoint && checkpoint.meta.key === spec.key) {
      nets.load(checkpoint.tensors);
      optimizers.forEach((optimizer, g) => {
        const pick = (kind: 'm' | 'v') => nets.groups[g]!.params.map((_, i) => checkpoint.tensors.get(`adam.${g}.${kind}.${i}`) ?? null);
        optimizer.loadState({ t: checkpoint.tensors.get(`adam.${g}.t`)![0]!, m: pick('m'), v: pick('v') });
      });
      start = Number(checkpoint.meta.step);
      priorSeconds = Number(checkpoint.meta.trainSeconds ?? 0);
      emit({ type: 'stage', stage: 'resume', detail: `from step ${start} of ${checkpointFile}` });
    } else if (checkpoint) {
      emit({ type: 'stage', stage: 'restart', detail: `the checkpoint ${checkpointFile} was trained with other settings` });
    }
    emit({ type: 'stage', stage: 'train', detail: spec.detail });

    started = performance.now();
    const recent: Record<string, number>[] = [];
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
        const { total, terms } = spec.loss(batch);
        const loss = total.valuesSync()[0]!;
        peakBytes = Math.max(peakBytes, engine.memory().bytes);
        engine.backward(total);
        return { loss, ...terms };
      });
      if (!Number.isFinite(terms.loss)) throw new Error(`${spec.method}: the meta-loss is ${terms.loss} at step ${step}; lower the learning rates`);
      for (const optimizer of optimizers) optimizer.step();
      for (const optimizer of optimizers) optimizer.zeroGrad();
      peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss);
      recent.push(terms);
      if (recent.length > 50) recent.shift();
      const { loss, ...rest } = terms;
      emit({ type: 'train', step: step + 1, steps: hp.steps, loss, terms: rest, seconds: (performance.now() - started) / 1000 });
      if ((step + 1) % hp.checkpointEvery === 0 && step + 1 < hp.steps) await saveCheckpoint(step + 1);
      await new Promise((r) => setImmediate(r));
    }
    const seconds = (performance.now() - started) / 1000;
    const final = Object.fromEntries(Object.keys(recent[0] ?? {}).map((k) => [k, recent.reduce((s, r) => s + r[k]!, 0) / recent.length]));
    await store.write(editorFile, nets.values(), { ...spec.meta, method: spec.method, steps: step, records: examples.length, trainSeconds: priorSeconds + seconds, final, spec: specSummary(lm) });
    store.remove(checkpointFile);
    return { method: spec.method, file: editorFile, steps: step, resumedFrom: start, seconds, final, peakBytes, peakRssBytes };
  } finally {
    for (const optimizer of optimizers) optimizer.dispose();
    nets.dispose();
  }
}
