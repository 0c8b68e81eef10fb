/**
 * FFN slots: key/value pairs added beside a layer's MLP, what T-Patcher's patch neurons (Huang et
 * al. 2023) and CaliNET's calibration memory (Dong et al. 2022) add to a model:
 *
 *   mlp_out' = mlp_out + act(mlp_in · Kᵀ + b) · V      K [n, D], b [n], V [n, D]
 *
 * mlp_in is the MLP's input (after its norm) and mlp_out its output, the hook points every family
 * passes (./hooks.ts), so the slots work for GPT-2, GPT-J, Llama and NeoX alike without touching
 * their code: `AddedSlots.wrap` returns hooks that read mlp_in and add the slots at mlp_out.
 * The slots are plain numbers held per layer; the tensors the forward uses are built when the set
 * changes (one concatenation per layer and activation), so applying or reverting is cheap.
 */
import type { Engine, Tensor } from '../engine';
import { add, gelu, matmul, relu } from '../engine/ops';
import { Hooks, type HookFn, type HookPoint } from './hooks';

export type SlotActivation = 'relu' | 'gelu';
export const SLOT_ACTIVATIONS: readonly SlotActivation[] = ['relu', 'gelu'];

/** One group of slots at one layer: `count` keys and values of width `width` (the model's hidden size). */
export interface SlotGroup {
  layer: number;
  count: number;
  width: number;
  activation: SlotActivation;
  /** K [count, width], row-major */
  keys: Float32Array;
  /** b [count] */
  bias: Float32Array;
  /** V [count, width], row-major */
  values: Float32Array;
}

/** act(x · Kᵀ + b) · V for x [..., D]: differentiable in all four (built from primitives). */
export function slotOutput(x: Tensor, keys: Tensor, bias: Tensor, values: Tensor, activation: SlotActivation): Tensor {
  const pre = add(matmul(x, keys, { transB: true }), bias); // [..., n]
  const act = activation === 'relu' ? relu(pre) : gelu(pre, 'tanh');
  return matmul(act, values); // [..., n] @ [n, D] -> [..., D]
}

/** Checks a group's sizes against a model; the message names the group and what differs. */
export function checkSlotGroup(group: SlotGroup, spec: { layers: number; hidden: number }): void {
  const { layer, count, width, keys, bias, values, activation } = group;
  const where = `FFN slots at layer ${layer}`;
  if (!Number.isInteger(layer) || layer < 0 || layer >= spec.layers) throw new Error(`${where}: the model has ${spec.layers} layers (0-${spec.layers - 1})`);
  if (width !== spec.hidden) throw new Error(`${where}: width ${width}, the model's hidden size is ${spec.hidden}`);
  if (!Number.isInteger(count) || count < 1) throw new Error(`${where}: count must be a positive integer, got ${count}`);
  if (!SLOT_ACTIVATIONS.includes(activation)) throw new Error(`${where}: unknown activation ${JSON.stringify(activation)} (known: ${SLOT_ACTIVATIONS.join(', ')})`);
  if (keys.length !== count * width) throw new Error(`${where}: keys hold ${keys.length} numbers, [${count}, ${width}] needs ${count * width}`);
  if (values.length !== count * width) throw new Error(`${where}: values hold ${values.length} numbers, [${count}, ${width}] needs ${count * width}`);
  if (bias.length !== count) throw new Error(`${where}: bias holds ${bias.length} numbers, ${count} slots need ${count}`);
}

interface Built {
  activation: SlotActivation;
  keys: Tensor;
  bias: Tensor;
  values: Tensor;
}

/** The slot groups added to one network, per layer, and the hooks that run them. */
export class AddedSlots {
  private readonly groups = new Map<number, SlotGroup[]>();
  private readonly built = new Map<number, Built[]>();

  constructor(
    private readonly engine: Engine,
    private readonly spec: { layers: number; hidden: number },
  ) {}

  /** Number of slots over all layers. */
  get size(): number {
    let n = 0;
    for (const list of this.groups.values()) for (const g of list) n += g.count;
    return n;
  }

  /** The groups at a layer, oldest first. */
  at(layer: number): readonly SlotGroup[] {
    return this.groups.get(layer) ?? [];
  }

  add(group: SlotGroup): void {
    checkSlotGroup(group, this.spec);
    this.set(group.layer, [...this.at(group.layer), group]);
  }

  /** Removes this group (the same object that was added). */
  remove(group: SlotGroup): void {
    const list = this.at(group.layer);
    const index = list.indexOf(group);
    if (index < 0) throw new Error(`FFN slots at layer ${group.layer}: this group of ${group.count} slot(s) was never added`);
    this.set(
      group.layer,
      list.filter((_, i) => i !== index),
    );
  }

  /** Puts back a layer's groups as `at(layer)` returned them earlier. */
  restore(layer: number, groups: readonly SlotGroup[]): void {
    this.set(layer, [...groups]);
  }

  private set(layer: number, list: SlotGroup[]): void {
    for (const b of this.built.get(layer) ?? []) for (const t of [b.keys, b.bias, b.values]) t.dispose();
    this.built.delete(layer);
    if (list.length) this.groups.set(layer, list);
    else this.groups.delete(layer);
  }

  /** One K, b, V per activation at a layer: the groups concatenated along the slot axis. */
  private tensorsAt(layer: number): Built[] {
    let built = this.built.get(layer);
    if (built) return built;
    const e = this.engine;
    const width = this.spec.hidden;
    built = [];
    for (const activation of SLOT_ACTIVATIONS) {
      const list = this.at(layer).filter((g) => g.activation === activation);
      if (!list.length) continue;
      const count = list.reduce((n, g) => n + g.count, 0);
      const keys = new Float32Array(count * width);
      const bias = new Float32Array(count);
      const values = new Float32Array(count * width);
      let row = 0;
      for (const g of list) {
        keys.set(g.keys, row * width);
        values.set(g.values, row * width);
        bias.set(g.bias, row);
        row += g.count;
      }
      built.push({
        activation,
        keys: e.keep(e.tensor(keys, [count, width])),
        bias: e.keep(e.tensor(bias, [count])),
        values: e.keep(e.tensor(values, [count, width])),
      });
    }
    this.built.set(layer, built);
    return built;
  }

  /**
   * Hooks for one forward call that run the slots and then `inner`'s hooks. The caller's mlp_in
   * hooks run first (a replaced MLP input feeds the slots too); at mlp_out the slots are added
   * before the caller's hooks, which see the MLP's whole output, slots included.
   */
  wrap(inner: Hooks): Hooks {
    if (!this.groups.size) return inner;
    return new SlotHooks(this, inner);
  }

  /** The slots' contribution at a layer for its MLP input [B, T, D]. */
  output(layer: number, mlpIn: Tensor): Tensor | null {
    let out: Tensor | null = null;
    for (const b of this.tensorsAt(layer)) {
      const y = slotOutput(mlpIn, b.keys, b.bias, b.values, b.activation);
      out = out ? add(out, y) : y;
    }
    return out;
  }

  dispose(): void {
    for (const layer of [...this.groups.keys()]) this.set(layer, []);
  }
}

class SlotHooks extends Hooks {
  private readonly inputs = new Map<number, Tensor>();

  constructor(
    private readonly slots: AddedSlots,
    private readonly inner: Hooks,
  ) {
    super();
  }

  override get empty(): boolean {
    return false;
  }

  override on(point: HookPoint, layer: number | '*', fn: HookFn): this {
    this.inner.on(point, layer, fn);
    return this;
  }

  override apply(point: HookPoint, layer: number, activation: Tensor): Tensor {
    if (point === 'mlp_out' && this.slots.at(layer).length) {
      const mlpIn = this.inputs.get(layer);
      if (!mlpIn) throw new Error(`FFN slots at layer ${layer}: the family passed mlp_out without mlp_in`);
      this.inputs.delete(layer);
      const added = this.slots.output(layer, mlpIn);
      return this.inner.apply(point, layer, added ? add(activation, added) : activation);
    }
    const x = this.inner.apply(point, layer, activation);
    if (point === 'mlp_in' && this.slots.at(layer).length) this.inputs.set(layer, x);
    return x;
  }
}
