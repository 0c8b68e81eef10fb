/**
 * MEND's two passes over the model, both through hooks (the model's weights never change):
 * 1. `editFactors`: the pre-edit gradient of the edit loss, decomposed per edited weight into the
 *    layer inputs u_t and output gradients δ_t of every real token (MEND's hooks.py).
 * 2. `editedRun`: the model with W' = W − α Σ_t ũ_t δ̃_tᵀ for every edited weight, where (ũ, δ̃) come
 *    from the editor networks as graph tensors: the layer's output gains −α (x Ũᵀ) D̃, so the loss
 *    after the edit is differentiable in the editor's parameters (the meta-gradient).
 */
import type { Tensor } from '../../engine';
import { add, exp, indexSelect, logSoftmax, matmul, mul, neg, reshape, sub, sum, takeAlongLast } from '../../engine/ops';
import { captureInto, Hooks, type HookPoint } from '../../models/hooks';
import type { EditableLM, PromptIds } from '../../models/editable';
import type { EditedWeight, MendNetworks } from './editor-net';

/** A continuation scored teacher-forced: NLL of `target` after `prompt` (token ids). */
export interface TargetExample {
  prompt: number[];
  target: number[];
}

/** Per edited weight: u [n, inDim] and δ [n, outDim] of the n tokens with a gradient. */
export interface Factors {
  u: Float32Array;
  delta: Float32Array;
  n: number;
}

export function points(w: EditedWeight): { input: HookPoint; output: HookPoint } {
  return w.projection === 'in' ? { input: 'mlp_in', output: 'mlp_pre' } : { input: 'mlp_key', output: 'mlp_out' };
}

/**
 * Teacher-forced inputs of the examples (prompt, target without its last token), in the framing of
 * ../../models/editable.ts: one sequence for a decoder-only model, encoder + decoder for T5.
 */
export function exampleInputs(examples: readonly TargetExample[]): PromptIds[] {
  return examples.map((x) => {
    if (!x.target.length) throw new Error('MEND: a target has no tokens');
    if (!x.prompt.length) throw new Error('MEND: a prompt has no tokens');
    return { prompt: x.prompt, continuation: x.target.slice(0, -1) };
  });
}

/**
 * Per target token the flat row predicting it (`row` of the padded batch, sequences from `offset`)
 * and its weight (a mean per example, then over examples).
 */
export function targetRows(examples: readonly TargetExample[], row: (b: number, j: number) => number, offset = 0) {
  const rows: number[] = [];
  const ids: number[] = [];
  const weights: number[] = [];
  examples.forEach((x, b) =>
    x.target.forEach((id, j) => {
      rows.push(row(offset + b, j));
      ids.push(id);
      weights.push(1 / (x.target.length * examples.length));
    }),
  );
  return { rows, ids, weights };
}

/** Σ weight · NLL over the given logits rows. */
function weightedNll(flat: Tensor, rows: number[], ids: number[], weights: number[]): Tensor {
  const e = flat.engine;
  const logProbs = logSoftmax(indexSelect(flat, 0, e.tensor(Int32Array.from(rows), [rows.length], 'i32'))); // [N, V]
  const tokenNll = neg(takeAlongLast(logProbs, e.tensor(Int32Array.from(ids), [ids.length], 'i32'))); // [N]
  return sum(mul(tokenNll, e.tensor(Float32Array.from(weights), [weights.length])));
}

/**
 * The pre-edit gradient of the edit loss (mean NLL of the targets) as u/δ rows per edited weight:
 * only real tokens whose u and δ are both non-zero (MEND's nz_mask), so padding never enters ΔW.
 * Taking the gradient releases the engine's tape: call it before recording anything else.
 */
export function editFactors(lm: EditableLM, weights: readonly EditedWeight[], examples: readonly TargetExample[]): { factors: Factors[]; loss: number } {
  const e = lm.engine;
  if (!e.isRecording) throw new Error('MEND: the pre-edit gradient needs the tape; call editFactors outside engine.noGrad');
  const seqs = exampleInputs(examples);
  const { rows, ids, weights: tokenWeights } = targetRows(examples, lm.layout(seqs).row);
  const captured = new Map<string, Tensor>();
  const hooks = new Hooks();
  const seen = new Set<string>();
  for (const w of weights) {
    const { input, output } = points(w);
    for (const [point, grad] of [[input, false], [output, true]] as const) {
      if (seen.has(`${point}.${w.layer}`)) continue;
      seen.add(`${point}.${w.layer}`);
      hooks.on(point, w.layer, captureInto(captured, { grad }));
    }
  }
  try {
    return e.tidy(() => {
      const { logits, mask } = lm.teacherForced(seqs, hooks);
      const width = mask[0]!.length;
      const loss = weightedNll(reshape(logits, [-1, lm.editSpec.vocabSize]), rows, ids, tokenWeights);
      const lossValue = loss.valuesSync()[0]!;
      const outputs = weights.map((w) => captured.get(`${points(w).output}.${w.layer}`)!);
      const grads = e.grad(loss, [...new Set(outputs)]);
      const gradOf = new Map([...new Set(outputs)].map((t, i) => [t, grads[i]!]));
      const real: number[] = [];
      mask.forEach((m, b) => m.forEach((v, t) => v && real.push(b * width + t)));
      const realIndex = e.tensor(Int32Array.from(real), [real.length], 'i32');
      const factors = weights.map((w, i) => {
        const grad = gradOf.get(outputs[i]!);
        if (!grad) throw new Error(`MEND: no gradient reaches layer ${w.layer}'s ${w.projection} projection`);
        const u = indexSelect(reshape(captured.get(`${points(w).input}.${w.layer}`)!, [-1, w.inDim]), 0, realIndex).valuesSync() as Float32Array;
        const delta = indexSelect(reshape(grad, [-1, w.outDim]), 0, realIndex).valuesSync() as Float32Array;
        return nonZeroRows(u, delta, w.inDim, w.outDim, real.length);
      });
      return { factors, loss: lossValue };
    });
  } finally {
    for (const t of captured.values()) t.dispose();
  }
}

function nonZeroRows(u: Float32Array, delta: Float32Array, inDim: number, outDim: number, n: number): Factors {
  const keep: number[] = [];
  const anyNonZero = (a: Float32Array, r: number, d: number) => a.subarray(r * d, (r + 1) * d).some((v) => v !== 0);
  for (let r = 0; r < n; r++) if (anyNonZero(u, r, inDim) && anyNonZero(delta, r, outDim)) keep.push(r);
  const pick = (a: Float32Array, d: number) => {
    const out = new Float32Array(keep.length * d);
    keep.forEach((r, i) => out.set(a.subarray(r * d, (r + 1) * d), i * d));
    return out;
  };
  return { u: pick(u, inDim), delta: pick(delta, outDim), n: keep.length };
}

/** (ũ, δ̃) of every edited weight, as graph tensors (differentiable in the editor networks). */
export function transformFactors(nets: MendNetworks, factors: readonly Factors[]): { u: Tensor; delta: Tensor }[] {
  return nets.weights.map((w, i) => nets.transform(w).forward(factors[i]!.u, factors[i]!.delta, factors[i]!.n, w.mode));
}

/** Hooks adding −α (x Ũᵀ) D̃ to each edited weight's output: the model with W' = W − α Ũᵀ D̃. */
export function editedHooks(nets: MendNetworks, transformed: readonly { u: Tensor; delta: Tensor }[]): Hooks {
  const inputs = new Map<string, Tensor>();
  const hooks = new Hooks();
  const seen = new Set<string>();
  nets.weights.forEach((w, i) => {
    const { input, output } = points(w);
    const key = `${input}.${w.layer}`;
    if (!seen.has(key)) {
      seen.add(key);
      hooks.on(input, w.layer, (x) => {
        inputs.set(key, x);
      });
    }
    const { u, delta } = transformed[i]!;
    const negAlpha = neg(nets.alphas[i]!);
    // x [B, T, in] @ Ũᵀ [in, n] -> [B, T, n] @ D̃ [n, out] -> [B, T, out]
    hooks.on(output, w.layer, (out) => add(out, mul(matmul(matmul(inputs.get(key)!, u, { transB: true }), delta), negAlpha)));
  });
  return hooks;
}

/** One training record as tokens: the edit, the prompts scored after it, and an unrelated prompt. */
export interface MetaExample {
  edit: TargetExample;
  /** The edit prompt and its paraphrases with the new target (MEND's edit_outer). */
  outer: TargetExample[];
  /** An unrelated prompt and its answer: the KL on the answer's positions keeps it (MEND's loc). */
  loc: TargetExample;
}

export interface MetaLoss {
  total: Tensor;
  edit: number;
  loc: number;
  /** NLL of the edit before the edit (for progress). */
  pre: number;
}

/**
 * MEND's meta-loss for a batch of records, edited together: cedit · NLL(outer | W') + cloc ·
 * KL(p_W(·|loc) || p_W'(·|loc)) averaged over the loc answer positions. With `learnNorms`, the
 * normalisers first take this batch's u and δ (MEND updates them while training). Call it inside a
 * tidy scope; `total` is a graph tensor for `engine.backward`.
 */
export function metaLoss(lm: EditableLM, nets: MendNetworks, batch: readonly MetaExample[], opts: { cedit: number; cloc: number; learnNorms: boolean }): MetaLoss {
  const e = lm.engine;
  const { factors, loss: pre } = editFactors(lm, nets.weights, batch.map((b) => b.edit));
  if (opts.learnNorms) {
    nets.weights.forEach((w, i) => {
      const t = nets.transform(w);
      t.uNorm.update(factors[i]!.u, factors[i]!.n);
      t.deltaNorm.update(factors[i]!.delta, factors[i]!.n);
    });
  }
  const hooks = editedHooks(nets, transformFactors(nets, factors));
  const scored = scoreEdited(lm, batch.flatMap((b) => b.outer), batch.map((b) => b.loc), hooks);
  const total = add(mul(scored.edit, e.scalar(opts.cedit)), mul(scored.loc, e.scalar(opts.cloc)));
  return { total, edit: scored.edit.valuesSync()[0]!, loc: scored.loc.valuesSync()[0]!, pre };
}

/**
 * The edited model (through `hooks`) scored on `outer` (mean NLL of the targets) and on `loc`
 * (KL(p_W ‖ p_W') averaged over the positions predicting the loc answers; p_W from a plain run).
 * Both are graph tensors.
 */
export function scoreEdited(lm: EditableLM, outer: readonly TargetExample[], loc: readonly TargetExample[], hooks: Hooks): { edit: Tensor; loc: Tensor } {
  const e = lm.engine;
  // outer and loc examples in one padded batch: outer first, loc from row outer.length
  const seqs = exampleInputs([...outer, ...loc]);
  const { row } = lm.layout(seqs);
  const edit = targetRows(outer, row);
  const locRows = targetRows(loc, row, outer.length);
  const vocab = lm.editSpec.vocabSize;
  const locIndex = e.tensor(Int32Array.from(locRows.rows), [locRows.rows.length], 'i32');
  const preLoc = e.noGrad(() => logSoftmax(indexSelect(reshape(lm.teacherForced(seqs).logits, [-1, vocab]), 0, locIndex))); // [L, V]
  const flat = reshape(lm.teacherForced(seqs, hooks).logits, [-1, vocab]);
  const editNll = weightedNll(flat, edit.rows, edit.ids, edit.weights);
  const postLoc = logSoftmax(indexSelect(flat, 0, locIndex));
  const locKl = mul(sum(mul(exp(preLoc), sub(preLoc, postLoc))), e.scalar(1 / locRows.rows.length));
  return { edit: editNll, loc: locKl };
}
