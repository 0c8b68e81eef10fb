import type { Tensor } from '../engine';
import { add, matmul, mulScalar, reshape } from '../engine/ops';
import type { EditableNetwork } from '../models/editable';
import { MEMORY_PARAM, memoryGroup, slotParam, type WeightDelta } from './editor';

type ParamDelta = Extract<WeightDelta, { kind: 'lowRank' | 'dense' }>;

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
 * delta is added to the network's slots (sign 1) or removed from them (sign -1: the same object);
 * a memory delta likewise to the network's edit memory.
 */
export function addDelta(network: EditableNetwork, delta: WeightDelta, sign: 1 | -1 = 1): void {
  if (delta.kind === 'memory') {
    if (sign === 1) network.memory.add(memoryGroup(delta));
    else network.memory.remove(memoryGroup(delta));
    return;
  }
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

/** Whether a name stands for something added beside the checkpoint's parameters (slots, the edit memory). */
export function isAddedParam(name: string): boolean {
  return name === MEMORY_PARAM || slotLayerOf(name) !== null;
}

/** The layer a slots name (`slotParam`) stands for, or null for a checkpoint key. */
export function slotLayerOf(name: string): number | null {
  const match = /^ffn_slots\.(\d+)$/.exec(name);
  return match && name === slotParam(Number(match[1])) ? Number(match[1]) : null;
}

/**
 * Holds the current values of some parameters (views of their storage: no copy) so they can be
 * put back exactly: adding then subtracting a delta in f32 would not round-trip. A slots name
 * (`slotParam(layer)`) holds that layer's slot groups, MEMORY_PARAM the edit memory's groups.
 */
export function snapshot(network: EditableNetwork, names: readonly string[]): { restore(): void } {
  const e = network.engine;
  const slots = names.flatMap((name) => {
    const layer = slotLayerOf(name);
    return layer === null ? [] : [{ layer, groups: network.slots.at(layer) }];
  });
  const memory = names.includes(MEMORY_PARAM) ? network.memory.all() : null;
  const held = names
    .filter((name) => !isAddedParam(name))
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
      if (memory) network.memory.restore(memory);
    },
  };
}
