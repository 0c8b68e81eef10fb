/**
 * What the two methods that add parameters share (T-Patcher, CaliNET): the teacher-forced batch of
 * prompt + target, trainable slots run through hooks while training (the model is never changed),
 * and the delta they become (../models/ffn-slots.ts).
 */
import type { EditRequest } from '../../lib/editing/request';
import type { Tensor } from '../engine';
import { add, indexSelect, logSoftmax, mul, mulScalar, neg, reshape, sum, takeAlongLast } from '../engine/ops';
import { slotOutput, type SlotActivation } from '../models/ffn-slots';
import { Hooks } from '../models/hooks';
import type { EditableLM, PromptIds } from '../models/editable';
import { slotParam, type SlotDelta } from './editor';

/**
 * Prompt and target (without its last token: the continuation fed), per request; per target token
 * the flat row of the padded batch [B * T] that predicts it, its id, its request and its weight
 * 1 / (tokens · requests).
 */
export interface TargetBatch {
  seqs: PromptIds[];
  rows: number[];
  ids: number[];
  request: number[];
  weights: number[];
}

export function targetBatch(lm: EditableLM, requests: readonly EditRequest[], method: string): TargetBatch {
  const parts = requests.map((r) => {
    if (!r.prompt.includes('{}')) throw new Error(`${method}: prompt ${JSON.stringify(r.prompt)} has no {} for the subject`);
    const prompt = lm.encode(r.prompt.replace('{}', r.subject));
    const target = lm.tokenizer.encode(r.targetNew, { addSpecialTokens: false }).ids;
    if (!target.length) throw new Error(`${method}: target ${JSON.stringify(r.targetNew)} has no tokens`);
    return { prompt, target };
  });
  const seqs = parts.map((p) => ({ prompt: p.prompt, continuation: p.target.slice(0, -1) }));
  const { row } = lm.layout(seqs);
  const batch: TargetBatch = { seqs, rows: [], ids: [], request: [], weights: [] };
  parts.forEach((p, b) =>
    p.target.forEach((id, j) => {
      batch.rows.push(row(b, j));
      batch.ids.push(id);
      batch.request.push(b);
      batch.weights.push(1 / (p.target.length * parts.length));
    }),
  );
  return batch;
}

/** The batch's index tensors, kept until `dispose`. */
export function targetTensors(lm: EditableLM, batch: TargetBatch) {
  const e = lm.engine;
  const rows = e.keep(e.tensor(Int32Array.from(batch.rows), [batch.rows.length], 'i32'));
  const ids = e.keep(e.tensor(Int32Array.from(batch.ids), [batch.ids.length], 'i32'));
  const weights = e.keep(e.tensor(Float32Array.from(batch.weights), [batch.weights.length]));
  return {
    rows,
    ids,
    weights,
    dispose() {
      for (const t of [rows, ids, weights]) t.dispose();
    },
  };
}

/**
 * The weighted NLL of the target tokens (a mean over requests of their token means) from logits
 * [B, T, V], and whether each target token is the argmax there (read on the host).
 */
export function targetLoss(logits: Tensor, t: ReturnType<typeof targetTensors>): { loss: Tensor; correct: boolean[]; tokenNll: Float32Array } {
  const vocab = logits.shape[2]!;
  const logProbs = logSoftmax(indexSelect(reshape(logits, [-1, vocab]), 0, t.rows)); // [N, V]
  const tokenNll = neg(takeAlongLast(logProbs, t.ids)); // [N]
  const values = logProbs.valuesSync();
  const ids = t.ids.valuesSync();
  const correct = Array.from(ids, (id, n) => {
    const row = values.subarray(n * vocab, (n + 1) * vocab);
    let best = 0;
    for (let v = 1; v < vocab; v++) if (row[v]! > row[best]!) best = v;
    return best === id;
  });
  return { loss: sum(mul(tokenNll, t.weights)), correct, tokenNll: tokenNll.valuesSync() as Float32Array };
}

/** Slots being trained at one layer: K [n, D], b [n], V = valueScale · V' with V' [n, D]. */
export interface TrainableSlots {
  layer: number;
  activation: SlotActivation;
  keys: Tensor;
  bias: Tensor;
  values: Tensor;
  valueScale: number;
}

export function trainedValues(s: TrainableSlots): Tensor {
  return s.valueScale === 1 ? s.values : mulScalar(s.values, s.valueScale);
}

/** Hooks adding trainable slots at their layers (mlp_in read, mlp_out + slots), on top of `hooks`. */
export function slotTrainingHooks(slots: readonly TrainableSlots[], hooks = new Hooks()): Hooks {
  const inputs = new Map<number, Tensor>();
  for (const layer of new Set(slots.map((s) => s.layer))) {
    const here = slots.filter((s) => s.layer === layer);
    hooks
      .on('mlp_in', layer, (x) => {
        inputs.set(layer, x);
      })
      .on('mlp_out', layer, (out) => here.reduce((y, s) => add(y, slotOutput(inputs.get(layer)!, s.keys, s.bias, trainedValues(s), s.activation)), out));
  }
  return hooks;
}

/** The trained slots as a delta (their current values, copied). */
export function slotDelta(s: TrainableSlots): SlotDelta {
  const [count, width] = s.keys.shape as [number, number];
  const values = s.values.valuesSync();
  return {
    param: slotParam(s.layer),
    kind: 'ffnSlots',
    layer: s.layer,
    count,
    width,
    activation: s.activation,
    keys: Float32Array.from(s.keys.valuesSync()),
    bias: Float32Array.from(s.bias.valuesSync()),
    values: Float32Array.from(values, (v) => v * s.valueScale),
  };
}
