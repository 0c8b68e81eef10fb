import type { Tensor } from '../engine';
import { add, matmul, mulScalar, reshape } from '../engine/ops';
import type { CausalLM } from '../models/network';
import type { WeightDelta } from './editor';

/** The delta as a dense tensor of the parameter's stored shape. */
export function denseDelta(like: Tensor, delta: WeightDelta): Tensor {
  const e = like.engine;
  if (delta.kind === 'dense') return e.tensor(delta.values, [delta.rows, delta.cols]);
  return e.tidy(() => {
    const left = e.tensor(delta.left, [delta.rows, delta.rank]);
    const right = e.tensor(delta.right, [delta.cols, delta.rank]);
    return matmul(left, right, { transB: true }); // [rows, rank] @ [rank, cols]
  });
}

/** W <- W + sign · ΔW, in place (the parameter's storage is replaced, the tape is untouched). */
export function addDelta(network: CausalLM, delta: WeightDelta, sign: 1 | -1 = 1): void {
  const param = network.params.get(delta.param);
  if (!param) throw new Error(`delta for unknown parameter ${delta.param}`);
  if (param.size !== delta.rows * delta.cols) {
    throw new Error(`delta for ${delta.param} is [${delta.rows},${delta.cols}], the parameter is [${param.shape}]`);
  }
  const e = network.engine;
  e.noGrad(() => {
    const next = e.tidy(() => {
      const d = denseDelta(param, delta);
      return e.keep(add(param, reshape(sign === 1 ? d : mulScalar(d, -1), param.shape)));
    });
    param.assign(next);
    next.dispose();
  });
}

/** Runs `fn` with the deltas applied, then takes them off again (methods that edit in steps, such
 * as ROME on several requests, see their earlier deltas; the caller's model is left unchanged). */
export async function withDeltas<T>(network: CausalLM, deltas: readonly WeightDelta[], fn: () => Promise<T>): Promise<T> {
  const applied: WeightDelta[] = [];
  try {
    for (const d of deltas) {
      addDelta(network, d);
      applied.push(d);
    }
    return await fn();
  } finally {
    for (const d of applied.reverse()) addDelta(network, d, -1);
  }
}
