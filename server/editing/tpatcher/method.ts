import type { EditRequest } from '../../../lib/editing/request';
import type { Tensor } from '../../engine';
import { add, addScalar, exp, indexSelect, matmul, mean, mul, mulScalar, neg, reshape, sub, sum } from '../../engine/ops';
import { Adam } from '../../engine/optim';
import { slotOutput } from '../../models/ffn-slots';
import { captureInto, Hooks } from '../../models/hooks';
import { throwIfCancelled, type EditContext, type EditOutcome, type Editor } from '../editor';
import { norm } from '../linalg';
import { slotDelta, slotTrainingHooks, targetBatch, targetLoss, targetTensors, trainedValues, type TrainableSlots } from '../slots';
import { memoryInputs, memoryOf } from './memory';
import { TPatcherHparams, tpatcherDefaults } from './hparams';

/**
 * T-Patcher (Huang et al. 2023): one patch neuron per mistaken target token, beside the last FFN,
 * trained with the edit NLL, an activation loss (the patch fires at its own token) and a memory
 * loss (it stays below a margin on unrelated inputs). The model's weights stay frozen; the patches
 * are the delta (an ffnSlots delta). Batchable: a batch's patches train together, each at its
 * request's own positions. See README.md for the equations and the step → file map.
 */
export const tpatcher: Editor<typeof TPatcherHparams> = {
  name: 'T-Patcher',
  hparams: TPatcherHparams,
  defaults: tpatcherDefaults,
  batchable: true,
  needs: { secondMoments: false, contextTemplates: false, trainedEditor: false },
  async setup(ctx: EditContext, hp: TPatcherHparams): Promise<void> {
    await memoryOf(ctx.lm, ctx.stats, hp.layer, hp.memoryTokens);
  },
  async apply(ctx: EditContext, requests: readonly EditRequest[], hp: TPatcherHparams): Promise<EditOutcome> {
    if (!requests.length) return { deltas: [], stats: {} };
    const { lm } = ctx;
    const engine = lm.engine;
    const spec = lm.editSpec;
    if (hp.layer >= spec.layers) throw new Error(`T-Patcher: layer ${hp.layer} does not exist (the model has ${spec.layers})`);
    const hidden = spec.hidden;
    const batch = targetBatch(lm, requests, 'T-Patcher');
    const targets = targetTensors(lm, batch);
    const held: Tensor[] = [];
    const keep = <T extends Tensor>(t: T): T => (held.push(t), engine.keep(t));
    let optimizer: Adam | null = null;
    try {
      ctx.onProgress?.({ type: 'stage', stage: 'memory', detail: `${hp.memoryTokens} tokens of ${ctx.stats.source.name}, layer ${hp.layer}` });
      const memory = await memoryInputs(lm, ctx.stats, hp.layer, hp.memoryTokens, requests.map((r) => r.subject));
      const memoryInput = keep(engine.tensor(memory.values, [memory.rows, hidden])); // [M, D]

      // One pass of the current model: the FFN input at the layer and, when the layer is the last,
      // the residual after it, so that training only re-runs the head (the patch adds to it).
      const last = hp.layer === spec.layers - 1;
      const base = engine.noGrad(() =>
        engine.tidy(() => {
          const captured = new Map<string, Tensor>();
          const { residual } = lm.stackToLayer(batch.seqs, hp.layer, new Hooks().on('mlp_in', hp.layer, captureInto(captured)));
          const mlpIn = captured.get(`mlp_in.${hp.layer}`)!; // [B, T, D], kept by captureInto
          held.push(mlpIn);
          const logits = last ? lm.head(residual) : lm.teacherForced(batch.seqs).logits;
          return { residual: last ? residual : null, mlpIn: reshape(mlpIn, [-1, hidden]), correct: targetLoss(logits, targets).correct };
        }),
      );
      if (base.residual) keep(base.residual);
      keep(base.mlpIn); // [B*T, D]

      // One patch per mistake, at most maxPatches per request: the target tokens whose argmax is wrong.
      const patchRows: number[] = [];
      requests.forEach((_, r) => {
        const mistakes = batch.rows.filter((_, n) => batch.request[n] === r && !base.correct[n]);
        patchRows.push(...mistakes.slice(0, hp.maxPatches));
      });
      if (!patchRows.length) {
        ctx.onProgress?.({ type: 'stage', stage: 'patch', detail: 'no mistakes: the model already predicts every target token, no patch added' });
        return { deltas: [], stats: { patches: 0, steps: 0, layer: hp.layer } };
      }
      const count = patchRows.length;
      ctx.onProgress?.({ type: 'stage', stage: 'patch', detail: `${count} patch neuron(s) at layer ${hp.layer}, memory of ${memory.rows} inputs` });

      // Key k = x / ||x||² (pre-activation 1 at its own token, the reference's init), bias 0, and
      // v' = 0 (the reference draws v at random; zero keeps the untrained patch from moving anything).
      const rowIndex = keep(engine.tensor(Int32Array.from(patchRows), [count], 'i32'));
      const inputs = engine.noGrad(() => engine.tidy(() => indexSelect(base.mlpIn, 0, rowIndex).valuesSync() as Float32Array)); // [n, D]
      const init = new Float32Array(count * hidden);
      for (let i = 0; i < count; i++) {
        const x = inputs.subarray(i * hidden, (i + 1) * hidden);
        const sq = x.reduce((s, v) => s + v * v, 0) || 1;
        for (let j = 0; j < hidden; j++) init[i * hidden + j] = x[j]! / sq;
      }
      const slots: TrainableSlots = {
        layer: hp.layer,
        activation: hp.activation,
        keys: keep(engine.parameter(init, [count, hidden])),
        bias: keep(engine.parameter(new Float32Array(count), [count])),
        values: keep(engine.parameter(new Float32Array(count * hidden), [count, hidden])),
        valueScale: hp.valueScale,
      };
      optimizer = new Adam([slots.keys, slots.bias, slots.values], { lr: hp.lr });

      let steps = 0;
      let terms = { edit: Infinity, act: Infinity, memory: Infinity };
      let loss = Infinity;
      let done = false;
      for (let step = 0; step < hp.maxSteps; step++) {
        throwIfCancelled(ctx.signal);
        const result = engine.tidy(() => {
          const logits = base.residual
            ? lm.head(add(base.residual, reshape(slotOutput(base.mlpIn, slots.keys, slots.bias, trainedValues(slots), slots.activation), base.residual.shape)))
            : lm.teacherForced(batch.seqs, slotTrainingHooks([slots])).logits;
          const edit = targetLoss(logits, targets);
          const { act, memory: memoryLoss } = patchLosses(indexSelect(base.mlpIn, 0, rowIndex), memoryInput, slots.keys, slots.bias, hp);
          const total = add(add(edit.loss, mulScalar(act, hp.actLossWeight)), mulScalar(memoryLoss, hp.memoryLossWeight));
          const values = { edit: edit.loss.valuesSync()[0]!, act: act.valuesSync()[0]!, memory: memoryLoss.valuesSync()[0]! };
          const stop = edit.correct.every(Boolean) && values.act < hp.actLossThreshold;
          const value = total.valuesSync()[0]!;
          if (stop) engine.releaseGraph();
          else engine.backward(total);
          return { values, stop, value };
        });
        terms = result.values;
        loss = result.value;
        ctx.onProgress?.({ type: 'step', request: 0, step, loss, terms });
        if (result.stop) {
          done = true;
          break;
        }
        optimizer.step();
        optimizer.zeroGrad();
        steps = step + 1;
        await new Promise((r) => setImmediate(r));
      }
      const delta = slotDelta(slots);
      return {
        deltas: [delta],
        stats: { patches: count, steps, converged: done ? 'yes' : 'no', loss, edit: terms.edit, act: terms.act, memory: terms.memory, valueNorm: norm(delta.values), layer: hp.layer },
      };
    } finally {
      optimizer?.dispose();
      targets.dispose();
      for (const t of held) if (!t.disposed) t.dispose();
    }
  },
};

/**
 * T-Patcher's activation and memory losses for patches K [n, D], b [n] whose own inputs are x [n, D]
 * (patch i's FFN input at its mistaken token) and a memory m [M, D] of unrelated FFN inputs:
 *   a_i = k_i·x_i + b_i                        (pre-activation at its own token)
 *   act = mean_i exp(actMargin − a_i)            (it fires there)
 *   memory = topk-mean exp(k_i·m + b_i − a_i + margin1)   (it fires margin1 above any memory)
 *          + topk-mean exp(k_i·m + b_i − margin2)           (memories stay below margin2)
 */
export function patchLosses(
  own: Tensor,
  memory: Tensor,
  keys: Tensor,
  bias: Tensor,
  hp: Pick<TPatcherHparams, 'actMargin' | 'memoryMargin1' | 'memoryMargin2' | 'memoryTopK'>,
): { act: Tensor; memory: Tensor } {
  const n = keys.shape[0]!;
  const eye = own.engine.tensor(Float32Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0)), [n, n]);
  // the diagonal of [n, D] @ [D, n]: patch i on its own input
  const a = add(sum(mul(matmul(own, keys, { transB: true }), eye), 1), bias); // [n]
  const act = mean(exp(addScalar(neg(a), hp.actMargin)));
  const memoryPre = add(matmul(memory, keys, { transB: true }), bias); // [M, n]
  const above = topKMean(exp(addScalar(sub(memoryPre, a), hp.memoryMargin1)), hp.memoryTopK);
  const below = topKMean(exp(addScalar(memoryPre, -hp.memoryMargin2)), hp.memoryTopK);
  return { act, memory: add(above, below) };
}

/** Mean of the k largest entries of x (the reference's "top{k}_exp"): chosen on the host, gathered differentiably. */
function topKMean(x: Tensor, k: number): Tensor {
  const flat = reshape(x, [-1]);
  const values = flat.valuesSync();
  const order = Array.from(values.keys()).sort((a, b) => values[b]! - values[a]!).slice(0, Math.min(k, values.length));
  return mean(indexSelect(flat, 0, x.engine.tensor(Int32Array.from(order), [order.length], 'i32')));
}
