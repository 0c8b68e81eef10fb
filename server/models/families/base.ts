import type { Engine, Tensor } from '../../engine';
import { EditMemory } from '../edit-memory';
import { AddedSlots } from '../ffn-slots';
import { Hooks } from '../hooks';
import { KVCache, positional, type CausalLM, type ForwardInput, type ForwardOutput, type ModelSpec, type Positional } from '../network';

/** What a family supplies: how tokens become the residual stream, one block, and the head. */
export interface FamilyWiring {
  /** [B, T] ids -> [B, T, D] */
  embed(ids: Tensor, pos: Positional): Tensor;
  /** One block on the residual stream; calls hooks at its points; uses the cache if given. */
  block(x: Tensor, layer: number, ctx: BlockContext): Tensor;
  /** Final norm and unembedding: [B, T, D] -> [B, T, V] */
  head(x: Tensor): Tensor;
  mlpOutWeight(layer: number): { name: string; transposed: boolean };
  mlpInWeight(layer: number): { name: string; transposed: boolean };
}

export interface BlockContext {
  pos: Positional;
  hooks: Hooks;
  cache?: KVCache;
}

const NO_HOOKS = new Hooks();

/** The forward pass shared by every decoder-only family: embed, blocks, head, with hooks. */
export class DecoderOnlyLM implements CausalLM {
  readonly slots: AddedSlots;
  readonly memory = new EditMemory();

  constructor(
    readonly engine: Engine,
    readonly spec: ModelSpec,
    readonly params: ReadonlyMap<string, Tensor>,
    private readonly wiring: FamilyWiring,
  ) {
    this.slots = new AddedSlots(engine, spec);
  }

  mlpOutWeight(layer: number) {
    if (layer < 0 || layer >= this.spec.layers) throw new Error(`layer ${layer} out of range: the model has ${this.spec.layers}`);
    return this.wiring.mlpOutWeight(layer);
  }

  mlpInWeight(layer: number) {
    if (layer < 0 || layer >= this.spec.layers) throw new Error(`layer ${layer} out of range: the model has ${this.spec.layers}`);
    return this.wiring.mlpInWeight(layer);
  }

  forward(input: ForwardInput): ForwardOutput {
    return { logits: this.wiring.head(this.run(input, this.spec.layers - 1)) };
  }

  head(residual: Tensor): Tensor {
    if (residual.rank !== 3 || residual.shape[2] !== this.spec.hidden) throw new Error(`head: residual must be [B, T, ${this.spec.hidden}], got [${residual.shape}]`);
    return this.wiring.head(residual);
  }

  residual(input: ForwardInput, layer: number): Tensor {
    if (layer < 0 || layer >= this.spec.layers) throw new Error(`residual: layer ${layer} out of range: the model has ${this.spec.layers}`);
    return this.run(input, layer);
  }

  /** Embeds and runs layers 0..lastLayer, returning the residual stream after lastLayer. */
  private run({ ids, attentionMask, hooks: given = NO_HOOKS, cache, from }: ForwardInput, lastLayer: number): Tensor {
    const hooks = this.slots.wrap(given);
    if (ids.dtype !== 'i32' || ids.rank !== 2) throw new Error(`forward: ids must be i32 [B, T], got ${ids.dtype} [${ids.shape}]`);
    const [batch, tokens] = ids.shape as [number, number];
    if ((cache?.length ?? 0) + tokens > this.spec.maxPositions) {
      throw new Error(`forward: ${(cache?.length ?? 0) + tokens} tokens exceed the model's ${this.spec.maxPositions} positions`);
    }
    const pos = positional(this.engine, batch, tokens, attentionMask, cache);
    if (from && (from.layer < 0 || from.layer > lastLayer || from.residual.shape.join() !== [batch, tokens, this.spec.hidden].join())) {
      throw new Error(`forward: a residual [${from.residual.shape}] at layer ${from.layer} does not fit ids [${batch}, ${tokens}] up to layer ${lastLayer}`);
    }
    let x = from ? from.residual : hooks.apply('embed', 0, this.wiring.embed(ids, pos));
    for (let layer = from?.layer ?? 0; layer <= lastLayer; layer++) {
      x = hooks.apply('resid_pre', layer, x);
      x = hooks.apply('resid_post', layer, this.wiring.block(x, layer, { pos, hooks, cache }));
    }
    return x;
  }

  newCache(): KVCache {
    return new KVCache(this.spec.layers);
  }

  dispose(): void {
    this.slots.dispose();
    for (const t of this.params.values()) t.dispose();
  }
}
