import type { Engine, Tensor } from '../engine';
import { add, addMask, concat, matmul, mulScalar, permute, reshape, rope, ropeTables, softmax } from '../engine/ops';
import type { EditMemory } from './edit-memory';
import type { AddedSlots } from './ffn-slots';
import type { Hooks } from './hooks';

/**
 * What every model family provides: a causal language model over token ids, with hook points and
 * an optional KV cache. Families differ only in how a block is wired (see families/).
 */
export interface ModelSpec {
  family: 'gpt2' | 'gptj' | 'llama' | 'neox';
  layers: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Width of the MLP key (the down/out projection's input). */
  mlpHidden: number;
  vocabSize: number;
  maxPositions: number;
}

export interface ForwardInput {
  /** Token ids [B, T] (i32). */
  ids: Tensor;
  /** 1 for real tokens, 0 for padding, per sequence [B][T]; all ones when absent. */
  attentionMask?: readonly (readonly number[])[];
  hooks?: Hooks;
  /** Keys and values of earlier tokens; extended in place when given. */
  cache?: KVCache;
  /** Start at block `layer` with this residual [B, T, D] (that layer's `resid_pre`, read by an
   * earlier run on the same ids): the layers below are not run again. */
  from?: { layer: number; residual: Tensor };
}

export interface ForwardOutput {
  /** [B, T, V] */
  logits: Tensor;
}

export interface CausalLM {
  readonly spec: ModelSpec;
  readonly engine: Engine;
  /** Parameters by checkpoint key. */
  readonly params: ReadonlyMap<string, Tensor>;
  /** The MLP down/out projection weight of a layer (what ROME and MEMIT edit), and whether it is
   * stored [in, out] (GPT-2's Conv1D) instead of [out, in]. */
  mlpOutWeight(layer: number): { name: string; transposed: boolean };
  /** Key/value slots added beside MLPs (T-Patcher, CaliNET): every forward runs them. */
  readonly slots: AddedSlots;
  /** Edits held beside the weights (SERAC): score, topK and generate route through it. */
  readonly memory: EditMemory;
  /** The MLP up/in projection weight of a layer (the one whose output is the `mlp_pre` hook point;
   * Llama: up_proj), and whether it is stored [in, out]. */
  mlpInWeight(layer: number): { name: string; transposed: boolean };
  forward(input: ForwardInput): ForwardOutput;
  /** Final norm and unembedding of a residual stream after the last layer: [B, T, D] -> [B, T, V]. */
  head(residual: Tensor): Tensor;
  /** The residual stream [B, T, D] after `layer`, running no layer above it (statistics, traces). */
  residual(input: ForwardInput, layer: number): Tensor;
  dispose(): void;
}

/** Per-layer keys and values [B, kvHeads, T, headDim] of the tokens seen so far, and the mask. */
export class KVCache {
  readonly keys: (Tensor | null)[];
  readonly values: (Tensor | null)[];
  /** Attention mask of the cached tokens [B][T]. */
  mask: number[][] = [];

  constructor(layers: number) {
    this.keys = new Array<Tensor | null>(layers).fill(null);
    this.values = new Array<Tensor | null>(layers).fill(null);
  }

  get length(): number {
    return this.mask[0]?.length ?? 0;
  }

  /** Appends this step's k/v for a layer and returns the full k/v (kept by the cache). */
  extend(layer: number, k: Tensor, v: Tensor): { k: Tensor; v: Tensor } {
    const e = k.engine;
    const pk = this.keys[layer];
    const pv = this.values[layer];
    const fk = e.keep(pk ? concat([pk, k], 2) : e.view(k, k.shape));
    const fv = e.keep(pv ? concat([pv, v], 2) : e.view(v, v.shape));
    pk?.dispose();
    pv?.dispose();
    this.keys[layer] = fk;
    this.values[layer] = fv;
    // the first step's own k and v, not the kept views (a view is not on the tape: gradients through
    // this step's keys and values, which v*'s first step needs, would stop there)
    return pk ? { k: fk, v: fv } : { k, v };
  }

  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t?.dispose();
    this.keys.fill(null);
    this.values.fill(null);
    this.mask = [];
  }
}

/** Everything attention needs about the positions of one forward call. */
export interface Positional {
  /** Position ids per sequence [B][T] (count of real tokens before each, so left padding works). */
  positions: number[][];
  /** Additive mask [B, 1, T, Tpast + T]: causal, and -inf on padded keys. */
  mask: Tensor;
}

export function positional(engine: Engine, batch: number, tokens: number, attentionMask: readonly (readonly number[])[] | undefined, cache?: KVCache): Positional {
  const stepMask = attentionMask ? attentionMask.map((row) => [...row]) : Array.from({ length: batch }, () => new Array<number>(tokens).fill(1));
  if (stepMask.length !== batch || stepMask.some((row) => row.length !== tokens)) {
    throw new Error(`attentionMask must be [${batch}][${tokens}]`);
  }
  const past = cache?.mask ?? [];
  const full = stepMask.map((row, b) => [...(past[b] ?? []), ...row]);
  const pastLength = past[0]?.length ?? 0;
  const keys = pastLength + tokens;
  // a token's position is the number of real tokens before it, so left padding shifts nothing
  const positions = full.map((row) => {
    let seen = 0;
    return row.map((m) => Math.max(0, (seen += m ? 1 : 0) - 1)).slice(pastLength);
  });
  const mask = new Float32Array(batch * tokens * keys);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < tokens; i++) {
      for (let j = 0; j < keys; j++) {
        // causal (key j after query i's position) or a padded key: masked
        mask[(b * tokens + i) * keys + j] = full[b]![j] && j <= i + pastLength ? 0 : -Infinity;
      }
    }
  }
  if (cache) cache.mask = full;
  return { positions, mask: engine.tensor(mask, [batch, 1, tokens, keys]) };
}

/** x @ W^T + b for a Linear weight stored [out, in] (no copy: the product reads W transposed). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const y = matmul(x, weight, { transB: true });
  return bias ? add(y, bias) : y;
}

/** x @ W + b for GPT-2's Conv1D, whose weight is stored [in, out]. */
export function conv1d(x: Tensor, weight: Tensor, bias: Tensor): Tensor {
  return add(matmul(x, weight), bias);
}

/** [B, T, heads * headDim] -> [B, heads, T, headDim] */
export function splitHeads(x: Tensor, heads: number): Tensor {
  const [b, t, d] = x.shape as [number, number, number];
  return permute(reshape(x, [b, t, heads, d / heads]), [0, 2, 1, 3]);
}

/** [B, heads, T, headDim] -> [B, T, heads * headDim] */
export function mergeHeads(x: Tensor): Tensor {
  const [b, h, t, hd] = x.shape as [number, number, number, number];
  return reshape(permute(x, [0, 2, 1, 3]), [b, t, h * hd]);
}

export interface RotaryConfig {
  rotaryDim: number;
  interleaved: boolean;
  theta: number;
}

/** Rotates q and k [B, heads, T, headDim] for the given positions. */
export function applyRotary(q: Tensor, k: Tensor, positions: number[][], cfg: RotaryConfig): { q: Tensor; k: Tensor } {
  const { cos, sin } = ropeTables(q, positions, cfg.rotaryDim, cfg.theta);
  const opts = { rotaryDim: cfg.rotaryDim, interleaved: cfg.interleaved };
  return { q: rope(q, cos, sin, opts), k: rope(k, cos, sin, opts) };
}

/**
 * Scaled dot-product attention with grouped-query heads: q [B, H, T, hd], k and v
 * [B, KV, Tk, hd] with H a multiple of KV. Query heads sharing a kv head are stacked along T
 * instead of copying k and v: [B, KV, (H/KV) T, hd] @ [B, KV, hd, Tk].
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor): Tensor {
  const [b, h, t, hd] = q.shape as [number, number, number, number];
  const kv = k.shape[1]!;
  const tk = k.shape[2]!;
  const group = h / kv;
  const qg = reshape(q, [b, kv, group * t, hd]);
  const scores = mulScalar(matmul(qg, k, { transB: true }), 1 / Math.sqrt(hd)); // [B, KV, group*T, Tk]
  const masked = addMask(reshape(scores, [b, h, t, tk]), mask);
  const probs = reshape(softmax(masked), [b, kv, group * t, tk]);
  return reshape(matmul(probs, v), [b, h, t, hd]);
}
