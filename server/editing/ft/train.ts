import type { EditRequest } from '../../../lib/editing/request';
import type { Tensor } from '../../engine';
import { add, clamp, indexSelect, logSoftmax, matmul, mul, neg, reshape, sum, takeAlongLast } from '../../engine/ops';
import { Adam } from '../../engine/optim';
import { Hooks } from '../../models/hooks';
import type { EditableLM, PromptIds } from '../../models/editable';
import { throwIfCancelled, type EditContext } from '../editor';
import type { FtHparams } from './hparams';

/** The sequences to run and, per target token, the logits row that predicts it and its weight. */
export interface FtBatch {
  seqs: PromptIds[];
  rows: number[];
  ids: number[];
  /** Each request's tokens weigh 1 / (its token count · requests): the loss is a mean of means. */
  weights: number[];
}

export function ftBatch(lm: EditableLM, requests: readonly EditRequest[], objective: FtHparams['objective']): FtBatch {
  const parts = requests.map((r) => {
    const prompt = lm.encode(r.prompt.replace('{}', r.subject));
    const target = lm.tokenizer.encode(r.targetNew, { addSpecialTokens: false }).ids;
    if (!target.length) throw new Error(`FT: target ${JSON.stringify(r.targetNew)} has no tokens`);
    return { prompt, target };
  });
  const seqs = parts.map((p) => ({ prompt: p.prompt, continuation: objective === 'target_new' ? p.target.slice(0, -1) : [] }));
  const { row } = lm.layout(seqs);
  const batch: FtBatch = { seqs, rows: [], ids: [], weights: [] };
  parts.forEach((p, b) =>
    p.target.forEach((id, j) => {
      // target_new: token j is predicted where continuation token j is; prompt_last: all where the first is.
      batch.rows.push(row(b, objective === 'target_new' ? j : 0));
      batch.ids.push(id);
      batch.weights.push(1 / (p.target.length * parts.length));
    }),
  );
  return batch;
}

/**
 * Fine-tunes ΔW, the change of one layer's down/out projection, starting at zero: the layer's MLP
 * output becomes W₀k + b + ΔW·k through a hook, so the model's own weights never change. Adam on
 * ΔW follows the same path as Adam on W = W₀ + ΔW (its update is invariant to the offset), and
 * EasyEdit's clamp of W to W₀ ± ε is a clamp of ΔW to ±ε. Returns ΔW in the stored layout.
 */
export async function fineTune(ctx: EditContext, requests: readonly EditRequest[], hp: FtHparams): Promise<{ delta: Float32Array; steps: number; loss: number; shape: readonly number[]; name: string }> {
  const { lm } = ctx;
  const engine = lm.engine;
  const spec = lm.editSpec;
  if (hp.layer >= spec.layers) throw new Error(`FT: layer ${hp.layer} does not exist (the model has ${spec.layers})`);
  const { name, transposed } = lm.mlpOutWeight(hp.layer);
  const shape = lm.network.params.get(name)!.shape;
  const { seqs, rows, ids, weights } = ftBatch(lm, requests, hp.objective);

  const delta = engine.parameter(new Float32Array(shape[0]! * shape[1]!), shape);
  const rowIndex = engine.keep(engine.tensor(Int32Array.from(rows), [rows.length], 'i32'));
  const idIndex = engine.keep(engine.tensor(Int32Array.from(ids), [ids.length], 'i32'));
  const rowWeights = engine.keep(engine.tensor(Float32Array.from(weights), [weights.length]));
  const optimizer = new Adam([delta], { lr: hp.lr, weightDecay: hp.weightDecay });
  let steps = 0;
  let loss = Infinity;
  try {
    for (let step = 0; step < hp.numSteps; step++) {
      throwIfCancelled(ctx.signal);
      let key: Tensor | null = null;
      const hooks = new Hooks()
        .on('mlp_key', hp.layer, (k) => {
          key = k;
        })
        // key [B, T, F] @ ΔW: [F, H] as GPT-2's Conv1D stores it, else [H, F] read transposed
        .on('mlp_out', hp.layer, (out) => add(out, matmul(key!, delta, { transB: !transposed })));
      loss = engine.tidy(() => {
        const { logits } = lm.teacherForced(seqs, hooks);
        const flat = reshape(logits, [-1, spec.vocabSize]); // [B*T, V]
        const tokenNll = neg(takeAlongLast(logSoftmax(indexSelect(flat, 0, rowIndex)), idIndex)); // [N]
        const total = sum(mul(tokenNll, rowWeights));
        const value = total.valuesSync()[0]!;
        if (value < hp.earlyStopLoss) engine.releaseGraph();
        else engine.backward(total);
        return value;
      });
      ctx.onProgress?.({ type: 'step', request: 0, step, loss, terms: { nll: loss } });
      if (loss < hp.earlyStopLoss) break;
      steps = step + 1;
      optimizer.step();
      optimizer.zeroGrad();
      if (hp.normConstraint !== null) {
        const eps = hp.normConstraint;
        const clamped = engine.noGrad(() => engine.tidy(() => engine.keep(clamp(delta, -eps, eps))));
        delta.assign(clamped);
        clamped.dispose();
      }
      await new Promise((r) => setImmediate(r));
    }
    return { delta: Float32Array.from(delta.valuesSync()), steps, loss, shape, name };
  } finally {
    for (const t of [delta, rowIndex, idIndex, rowWeights]) t.dispose();
    optimizer.dispose();
  }
}
