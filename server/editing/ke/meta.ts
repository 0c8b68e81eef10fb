/**
 * KE's edit of the model, through hooks like MEND's (../mend/meta.ts): the edit gradient ∇W (from
 * the same u/δ decomposition: ∇W = Σ_t u_t δ_tᵀ), the hyper-network's ΔW per weight, and the model
 * with W + ΔW, whose loss is differentiable in the hyper-network.
 */
import type { Tensor } from '../../engine';
import { add, matmul, mul } from '../../engine/ops';
import { Hooks } from '../../models/hooks';
import type { EditableLM } from '../../models/editable';
import type { EditedWeight } from '../mend/editor-net';
import { editFactors, points, scoreEdited, type Factors, type MetaExample } from '../mend/meta';
import type { KeNetworks } from './networks';

/** A train record for KE: MEND's, plus the request as the conditioner reads it. */
export interface KeExample extends MetaExample {
  /** Token ids of "old >> new || prompt" (zsRE's cond). */
  condition: number[];
}

/** The request as KE conditions on it, zsRE's `cond` layout. */
export function conditionText(prompt: string, targetNew: string, targetTrue?: string): string {
  return `${(targetTrue ?? '').trim()} >> ${targetNew.trim()} || ${prompt}`;
}

/**
 * ΔW of every edited weight for one request (graph tensors, stored layout), from its u/δ factors
 * (`editFactors`, which releases the tape: take every example's factors before building on it).
 */
export function keDeltas(lm: EditableLM, nets: KeNetworks, example: Pick<KeExample, 'condition'>, factors: readonly Factors[]): Tensor[] {
  const e = lm.engine;
  const condition = nets.conditionOf(example.condition);
  const deltas = nets.weights.map((w, i) => {
    const f = factors[i]!;
    const u = e.tensor(f.u, [f.n, w.inDim]);
    const delta = e.tensor(f.delta, [f.n, w.outDim]);
    // ∇W = Σ_t u_t δ_tᵀ: [in, out] as GPT-2's Conv1D stores it, [out, in] for a Linear
    const grad = w.transposed ? matmul(u, delta, { transA: true }) : matmul(delta, u, { transA: true });
    return nets.update(i, condition, grad);
  });
  return deltas;
}

/** Hooks adding x ΔW (stored [in, out]) or x ΔWᵀ (stored [out, in]) to each edited weight's output. */
export function denseDeltaHooks(weights: readonly EditedWeight[], deltas: readonly Tensor[]): Hooks {
  const inputs = new Map<string, Tensor>();
  const hooks = new Hooks();
  weights.forEach((w, i) => {
    const { input, output } = points(w);
    const key = `${input}.${w.layer}`;
    if (!weights.slice(0, i).some((o) => `${points(o).input}.${o.layer}` === key)) hooks.on(input, w.layer, (x) => void inputs.set(key, x));
    hooks.on(output, w.layer, (out) => add(out, matmul(inputs.get(key)!, deltas[i]!, { transB: !w.transposed })));
  });
  return hooks;
}

/** NLL of the outer prompts after the edit + cloc · locality KL, averaged over the batch's (separate) edits. */
export function keLoss(lm: EditableLM, nets: KeNetworks, batch: readonly KeExample[], cloc: number): { total: Tensor; edit: number; loc: number; pre: number } {
  const e = lm.engine;
  let total: Tensor | null = null;
  let [edit, loc, pre] = [0, 0, 0];
  const factors = batch.map((example) => editFactors(lm, nets.weights, [example.edit]));
  for (const [k, example] of batch.entries()) {
    const deltas = keDeltas(lm, nets, example, factors[k]!.factors);
    const p = factors[k]!.loss;
    const scored = scoreEdited(lm, example.outer, [example.loc], denseDeltaHooks(nets.weights, deltas));
    const term = mul(add(scored.edit, mul(scored.loc, e.scalar(cloc))), e.scalar(1 / batch.length));
    total = total ? add(total, term) : term;
    edit += scored.edit.valuesSync()[0]! / batch.length;
    loc += scored.loc.valuesSync()[0]! / batch.length;
    pre += p / batch.length;
  }
  return { total: total!, edit, loc, pre };
}
