import type { EditRequest } from '../../../lib/editing/request';
import type { Tensor } from '../../engine';
import { add, addScalar, indexSelect, klDivergence, logSoftmax, mean, mulScalar, neg, reshape, sqrt, square, sum, takeAlongLast } from '../../engine/ops';
import { Adam } from '../../engine/optim';
import { addAt, Hooks } from '../../models/hooks';
import { throwIfCancelled, type DecoderOnlyContext } from '../editor';
import { norm } from '../linalg';
import type { TemplatedPrompt } from './compute-key';
import type { RomeHparams } from './hparams';

export interface ValueResult {
  /** v* = v_init + δ: the MLP output at the subject's last token that makes the model say the target. */
  value: Float32Array;
  /** v_init: that output before the edit (bare prompt, first template). */
  initial: Float32Array;
  steps: number;
  loss: number;
  nll: number;
}

/**
 * v*: optimise δ added to layer l's MLP output at the subject's last token of every templated
 * prompt, so that the model predicts the target after each (ROME step 3; compute_v.py):
 *   loss = mean NLL(target tokens, teacher-forced)
 *        + klFactor · KL(p_orig || p_new) of the next token at the subject of "{subject} is a"
 *        + vWeightDecay · ||δ|| / ||v_init||²
 * with ||δ|| clamped to clampNormFactor · ||v_init|| after each Adam step.
 */
export async function computeValue(
  ctx: DecoderOnlyContext,
  requestIndex: number,
  request: EditRequest,
  prompts: readonly TemplatedPrompt[],
  hp: RomeHparams,
  layer = hp.layer,
): Promise<ValueResult> {
  const { lm } = ctx;
  const engine = lm.engine;
  const { hidden, vocabSize } = lm.network.spec;
  const target = lm.tokenizer.encode(request.targetNew, { addSpecialTokens: false }).ids;
  if (!target.length) throw new Error(`ROME: target ${JSON.stringify(request.targetNew)} has no tokens`);

  // Rewriting sequences (prompt + target[:-1], teacher-forced), then the KL sequence.
  const klText = `${request.subject} is a`;
  const klIds = lm.encode(klText);
  const klPrompt = { ids: klIds, factIndex: hp.factToken === 'last' ? klIds.length - 1 : lm.tokenizer.findSubjectTokens(klText, request.subject, { at: 0 }).last };
  const seqs = [...prompts.map((p) => [...p.ids, ...target.slice(0, -1)]), klPrompt.ids];
  const positions = [...prompts.map((p) => p.factIndex), klPrompt.factIndex].map((t, b) => [b, t] as const);
  const width = Math.max(...seqs.map((s) => s.length));
  // Rows of the flattened [B*T, V] logits that predict each target token, and the KL row.
  const targetRows: number[] = [];
  const targetIds: number[] = [];
  prompts.forEach((p, b) =>
    target.forEach((id, j) => {
      targetRows.push(b * width + p.ids.length - 1 + j);
      targetIds.push(id);
    }),
  );
  const klRow = prompts.length * width + klPrompt.factIndex;
  const initialRow = prompts[0]!.factIndex; // batch 0, the bare prompt

  const delta = engine.parameter(new Array<number>(hidden).fill(0), [hidden]);
  const rows = engine.keep(engine.tensor(Int32Array.from(targetRows), [targetRows.length], 'i32'));
  const ids = engine.keep(engine.tensor(Int32Array.from(targetIds), [targetIds.length], 'i32'));
  const klIndex = engine.keep(engine.tensor(Int32Array.from([klRow]), [1], 'i32'));
  const optimizer = new Adam([delta], { lr: hp.vLr });
  let initial: Float32Array | null = null;
  let klInit: Tensor | null = null;
  let steps = 0;
  let last = { loss: Infinity, nll: Infinity };
  try {
    for (let step = 0; step < hp.vNumGradSteps; step++) {
      throwIfCancelled(ctx.signal);
      const hooks = new Hooks().on('mlp_out', layer, (x) => {
        initial ??= x.valuesSync().slice(initialRow * hidden, (initialRow + 1) * hidden) as Float32Array;
        return addAt(x, positions, delta);
      });
      const terms = engine.tidy(() => {
        const { logits } = lm.forwardPadded(seqs, 'right', hooks);
        const flat = reshape(logits, [-1, vocabSize]);
        const nll = mean(neg(takeAlongLast(logSoftmax(indexSelect(flat, 0, rows)), ids)));
        const klLogProbs = logSoftmax(indexSelect(flat, 0, klIndex));
        klInit ??= engine.keep(engine.tensor(klLogProbs.valuesSync() as Float32Array, klLogProbs.shape));
        const kl = mulScalar(klDivergence(klInit, klLogProbs), hp.klFactor);
        // ||δ|| (with a tiny epsilon: the norm's gradient is undefined at δ = 0, where we start)
        const initialNormSq = norm(initial!) ** 2;
        const decay = mulScalar(sqrt(addScalar(sum(square(delta)), 1e-12)), hp.vWeightDecay / initialNormSq);
        const loss = add(add(nll, kl), decay);
        const values = { loss: loss.valuesSync()[0]!, nll: nll.valuesSync()[0]!, kl: kl.valuesSync()[0]!, weightDecay: decay.valuesSync()[0]! };
        if (values.loss < hp.earlyStopLoss) engine.releaseGraph();
        else engine.backward(loss);
        return values;
      });
      last = terms;
      steps = step + 1;
      ctx.onProgress?.({ type: 'step', request: requestIndex, step, loss: terms.loss, terms: { nll: terms.nll, kl: terms.kl, weightDecay: terms.weightDecay } });
      if (terms.loss < hp.earlyStopLoss) break;
      optimizer.step();
      optimizer.zeroGrad();
      // keep ||δ|| within clampNormFactor · ||v_init||
      const maxNorm = hp.clampNormFactor * norm(initial!);
      const current = delta.valuesSync() as Float32Array;
      const n = norm(current);
      if (n > maxNorm) {
        const clamped = engine.tensor(current.map((v) => (v * maxNorm) / n), [hidden]);
        delta.assign(clamped);
        clamped.dispose();
      }
      await new Promise((r) => setImmediate(r));
    }
    const d = delta.valuesSync();
    const value = initial!.map((v, i) => v + d[i]!);
    return { value, initial: initial!, steps, loss: last.loss, nll: last.nll };
  } finally {
    for (const t of [delta, rows, ids, klIndex, klInit]) t?.dispose();
    optimizer.dispose();
  }
}
