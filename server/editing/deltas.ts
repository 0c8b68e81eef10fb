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

/**
 * Holds the current values of some parameters (views of their storage: no copy) so they can be
 * put back exactly: adding then subtracting a delta in f32 would not round-trip.
 */
export function snapshot(network: CausalLM, names: readonly string[]): { restore(): void } {
  const e = network.engine;
  const held = names.map((name) => {
    const param = network.params.get(name);
    if (!param) throw new Error(`snapshot: unknown parameter ${name}`);
    return { param, view: e.keep(e.view(param, param.shape)) };
  });
  return {
    restore() {
      for (const { param, view } of held) {
        param.assign(view);
        view.dispose();
      }
    },
  };
}
