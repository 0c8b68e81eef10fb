import type { Tensor } from '../engine';
import { add, matmul, mulScalar, reshape } from '../engine/ops';
import type { EditableNetwork } from '../models/editable';
import { slotParam, type WeightDelta } from './editor';

type ParamDelta = Exclude<WeightDelta, { kind: 'ffnSlots' }>;

/** The delta as a dense tensor of the parameter's stored shape. */
export function denseDelta(like: Tensor, delta: ParamDelta): Tensor {
  const e = like.engine;
  if (delta.kind === 'dense') return e.tensor(delta.values, [delta.rows, delta.cols]);
  return e.tidy(() => {
    const left = e.tensor(delta.left, [delta.rows, delta.rank]);
    const right = e.tensor(delta.right, [delta.cols, delta.rank]);
    return matmul(left, right, { transB: true }); // [rows, rank] @ [rank, cols]
  });
}

/**
 * W <- W + sign · ΔW, in place (the parameter's storage is replaced, the tape is untouched). A slots
 * delta is added to the network's slots (sign 1) or removed from them (sign -1: the same object).
 */
export function addDelta(network: EditableNetwork, delta: WeightDelta, sign: 1 | -1 = 1): void {
  if (delta.kind === 'ffnSlots') {
    if (delta.param !== slotParam(delta.layer)) throw new Error(`FFN slots delta named ${delta.param} is for layer ${delta.layer} (${slotParam(delta.layer)})`);
    if (sign === 1) network.slots.add(delta);
    else network.slots.remove(delta);
    return;
  }
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

/** The layer a slots name (`slotParam`) stands for, or null for a checkpoint key. */
export function slotLayerOf(name: string): number | null {
  const match = /^ffn_slots\.(\d+)$/.exec(name);
  return match && name === slotParam(Number(match[1])) ? Number(match[1]) : null;
}

/**
 * Holds the current values of some parameters (views of their storage: no copy) so they can be
 * put back exactly: adding then subtracting a delta in f32 would not round-trip. A slots name
 * (`slotParam(layer)`) holds that layer's slot groups.
 */
export function snapshot(network: EditableNetwork, names: readonly string[]): { restore(): void } {
  const e = network.engine;
  const slots = names.flatMap((name) => {
    const layer = slotLayerOf(name);
    return layer === null ? [] : [{ layer, groups: network.slots.at(layer) }];
  });
  const held = names
    .filter((name) => slotLayerOf(name) === null)
    .map((name) => {
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
      for (const { layer, groups } of slots) network.slots.restore(layer, groups);
    },
  };
}
