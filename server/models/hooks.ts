import type { Tensor } from '../engine';
import { add, mul, where } from '../engine/ops';

/**
 * Named points in the residual stream where activations can be read, replaced or nudged, per
 * layer. Every activation at a hook point is [batch, tokens, features].
 *   embed       token (+ position) embeddings, before layer 0
 *   resid_pre   input of layer l (embed for l = 0)
 *   attn_out    attention output of layer l, after its output projection
 *   cross_attn_out  cross-attention output of decoder layer l of an encoder-decoder model (T5),
 *               after its output projection; encoder-decoder models hook each stack separately
 *               (server/models/seq2seq.ts)
 *   mlp_in      input of layer l's MLP (after its norm)
 *   mlp_pre     output of layer l's up/in projection, before the activation (Llama: up_proj,
 *               the factor multiplied by act(gate)); linear in that projection's weight
 *   mlp_key     input of layer l's down/out projection (the MLP "key", after the activation)
 *   mlp_out     output of layer l's MLP
 *   resid_post  output of layer l
 */
export const HOOK_POINTS = ['embed', 'resid_pre', 'attn_out', 'cross_attn_out', 'mlp_in', 'mlp_pre', 'mlp_key', 'mlp_out', 'resid_post'] as const;
export type HookPoint = (typeof HOOK_POINTS)[number];

export interface HookSite {
  point: HookPoint;
  /** Layer index; 0 for `embed`. */
  layer: number;
}

/** Reads an activation and may return a replacement (same shape); returning nothing keeps it. */
export type HookFn = (activation: Tensor, site: HookSite) => Tensor | void;

/**
 * Hooks for one forward call: built by the caller, passed to `forward`, gone afterwards, so no
 * hook outlives the call that needed it. The model calls `apply` at each point it passes.
 */
export class Hooks {
  private readonly fns = new Map<string, HookFn[]>();

  on(point: HookPoint, layer: number | '*', fn: HookFn): this {
    const key = `${point}:${layer}`;
    this.fns.set(key, [...(this.fns.get(key) ?? []), fn]);
    return this;
  }

  get empty(): boolean {
    return this.fns.size === 0;
  }

  apply(point: HookPoint, layer: number, activation: Tensor): Tensor {
    let x = activation;
    for (const key of [`${point}:${layer}`, `${point}:*`]) {
      for (const fn of this.fns.get(key) ?? []) {
        const replaced = fn(x, { point, layer });
        if (replaced) {
          if (replaced.shape.length !== x.shape.length || replaced.shape.some((d, i) => d !== x.shape[i])) {
            throw new Error(`hook ${point}.${layer}: replacement [${replaced.shape}] differs from activation [${x.shape}]`);
          }
          x = replaced;
        }
      }
    }
    return x;
  }
}

/** One token position per sequence of the batch ([b] -> t), or a list of (b, t) pairs. */
export type Positions = readonly number[] | readonly (readonly [number, number])[];

/** A 0/1 mask [B, T, 1] with ones at the given positions. */
export function positionMask(like: Tensor, positions: Positions): Tensor {
  const [b, t] = [like.shape[0]!, like.shape[1]!];
  const mask = new Float32Array(b * t);
  const pairs = typeof positions[0] === 'number' ? (positions as number[]).map((p, i) => [i, p] as const) : (positions as [number, number][]);
  for (const [bi, ti] of pairs) {
    if (bi < 0 || bi >= b || ti < 0 || ti >= t) throw new Error(`position (${bi}, ${ti}) outside activation [${b}, ${t}]`);
    mask[bi * t + ti] = 1;
  }
  return like.engine.tensor(mask, [b, t, 1]);
}

/** x + mask * vector: adds `vector` [D] (or [B, 1, D]) at the positions. Differentiable in both,
 * which is how ROME optimises the delta it adds to an MLP output. */
export function addAt(x: Tensor, positions: Positions, vector: Tensor): Tensor {
  return add(x, mul(positionMask(x, positions), vector));
}

/** x with `value` ([D], [B, 1, D] or x's shape) written at the positions, bit-exact (a select,
 * not arithmetic): restoring a clean state in a causal trace. Differentiable in both. */
export function replaceAt(x: Tensor, positions: Positions, value: Tensor): Tensor {
  return where(positionMask(x, positions), value, x);
}

/**
 * Captures activations under "point.layer", kept past scopes (the caller disposes them). With
 * `grad`, each captured activation is watched (see Engine.watch), so that
 * `engine.grad(loss, [captured])` gives its gradient even when no weight requires one.
 */
export function captureInto(store: Map<string, Tensor>, opts: { grad?: boolean } = {}): HookFn {
  return (x, { point, layer }) => {
    if (opts.grad) x.engine.watch(x);
    store.set(`${point}.${layer}`, x.engine.keep(x));
  };
}
