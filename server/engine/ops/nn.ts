import { EngineError, expectDType, fmtShape } from '../errors';
import type { Tensor } from '../tensor';
import { binary, exp, mul, sub } from './elementwise';
import { indexSelect } from './layout';
import { sum } from './reduce';
import { expectF32 } from './util';

/** Fused neural-network ops: softmaxes, norms, rotary embeddings, embedding lookup, masks. */

function rowsOf(x: Tensor): { rows: number; dim: number } {
  const dim = x.shape[x.rank - 1] ?? 1;
  return { rows: x.size / dim, dim };
}

/** Softmax over the last axis. A row that is entirely -Infinity (fully masked) gives zeros. */
export function softmax(x: Tensor): Tensor {
  expectF32('softmax', ['x', x]);
  const e = x.engine;
  const { rows, dim } = rowsOf(x);
  const y = e.wrap(e.backend.softmax(x.data, rows, dim), x.shape);
  // dx = y * (g - sum(g * y))
  return e.record('softmax', [x], y, [y], (g, [ys]) => [mul(ys!, sub(g, sum(mul(g, ys!), -1, true)))]);
}

/** log(softmax(x)) over the last axis, computed stably. */
export function logSoftmax(x: Tensor): Tensor {
  expectF32('logSoftmax', ['x', x]);
  const e = x.engine;
  const { rows, dim } = rowsOf(x);
  const y = e.wrap(e.backend.logSoftmax(x.data, rows, dim), x.shape);
  // dx = g - softmax * sum(g)
  return e.record('logSoftmax', [x], y, [y], (g, [ys]) => [sub(g, mul(exp(ys!), sum(g, -1, true)))]);
}

function checkNormParam(op: string, x: Tensor, name: string, p: Tensor): void {
  expectF32(op, [name, p]);
  const dim = x.shape[x.rank - 1];
  if (p.rank !== 1 || p.shape[0] !== dim) throw new EngineError(op, `${name} ${fmtShape(p.shape)} vs x ${fmtShape(x.shape)}: expected [${dim}]`);
}

/** LayerNorm over the last axis (GPT-2, GPT-J, NeoX). `beta` may be null (no bias). */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor | null, eps = 1e-5): Tensor {
  expectF32('layerNorm', ['x', x]);
  checkNormParam('layerNorm', x, 'gamma', gamma);
  if (beta) checkNormParam('layerNorm', x, 'beta', beta);
  const e = x.engine;
  const args = { ...rowsOf(x), eps };
  const { out, mean, rstd } = e.backend.layerNorm(x.data, gamma.data, beta?.data ?? null, args);
  const meanT = e.wrap(mean, [args.rows]);
  const rstdT = e.wrap(rstd, [args.rows]);
  const y = e.wrap(out, x.shape);
  const inputs = beta ? [x, gamma, beta] : [x, gamma];
  e.record('layerNorm', inputs, y, [x, gamma, meanT, rstdT], (g, [xs, gs, ms, rs]) => {
    // a frozen model's gamma and beta need no gradient (a reduction over every row on a GPU)
    const paramGrads = gamma.requiresGrad || !!beta?.requiresGrad;
    const grads = e.backend.layerNormBackward(g.data, xs!.data, gs!.data, ms!.data, rs!.data, { ...args, paramGrads });
    const wrap = (d: unknown) => (d === null ? null : e.wrap(d, gamma.shape));
    return [e.wrap(grads.dx, x.shape), wrap(grads.dgamma), wrap(grads.dbeta)];
  });
  meanT.dispose();
  rstdT.dispose();
  return y;
}

/** RMSNorm over the last axis (Llama): x / sqrt(mean(x^2) + eps) * gamma. */
export function rmsNorm(x: Tensor, gamma: Tensor, eps = 1e-6): Tensor {
  expectF32('rmsNorm', ['x', x]);
  checkNormParam('rmsNorm', x, 'gamma', gamma);
  const e = x.engine;
  const args = { ...rowsOf(x), eps };
  const { out, rstd } = e.backend.rmsNorm(x.data, gamma.data, args);
  const rstdT = e.wrap(rstd, [args.rows]);
  const y = e.wrap(out, x.shape);
  e.record('rmsNorm', [x, gamma], y, [x, gamma, rstdT], (g, [xs, gs, rs]) => {
    const grads = e.backend.rmsNormBackward(g.data, xs!.data, gs!.data, rs!.data, { ...args, paramGrads: gamma.requiresGrad });
    return [e.wrap(grads.dx, x.shape), grads.dgamma === null ? null : e.wrap(grads.dgamma, gamma.shape)];
  });
  rstdT.dispose();
  return y;
}

export interface RopeOptions {
  /** Features rotated at the start of the last axis (GPT-J and NeoX rotate only part). */
  rotaryDim: number;
  /** true: GPT-J pairs (2i, 2i+1); false: NeoX/Llama halves (i, i + rotaryDim/2). */
  interleaved: boolean;
}

/**
 * Rotary position embedding of x [..., T, D] with tables cos/sin [T, rotaryDim/2], or
 * [B, T, rotaryDim/2] for x [B, ..., T, D] when sequences have their own positions (left padding).
 * The caller builds the tables for the positions in use. The backward is the inverse rotation.
 */
export function rope(x: Tensor, cos: Tensor, sin: Tensor, opts: RopeOptions): Tensor {
  expectF32('rope', ['x', x], ['cos', cos], ['sin', sin]);
  const t = x.shape[x.rank - 2]!;
  const d = x.shape[x.rank - 1]!;
  const half = opts.rotaryDim / 2;
  if (opts.rotaryDim % 2 !== 0 || opts.rotaryDim > d) throw new EngineError('rope', `rotaryDim ${opts.rotaryDim} must be even and <= ${d}`);
  const tableBatch = cos.rank === 3 ? cos.shape[0]! : 1;
  for (const [name, tab] of [['cos', cos], ['sin', sin]] as const) {
    const expected = tab.rank === 3 ? [x.shape[0], t, half] : [t, half];
    if ((tab.rank !== 2 && tab.rank !== 3) || tab.shape.some((dim, i) => dim !== expected[i]) || (tab.rank === 3 && x.rank < 3)) {
      throw new EngineError('rope', `${name} ${fmtShape(tab.shape)} vs x ${fmtShape(x.shape)}: expected [${expected.join(',')}]`);
    }
  }
  const e = x.engine;
  const run = (v: Tensor, c: Tensor, s: Tensor, inverse: boolean) =>
    e.wrap(e.backend.rope(v.data, c.data, s.data, { shape: v.shape, ...opts, inverse, tableBatch }), v.shape);
  return e.record('rope', [x], run(x, cos, sin, false), [cos, sin], (g, [c, s]) => [run(g, c!, s!, true)]);
}

/** cos/sin tables for theta (10000 for most models): [P, rotaryDim/2] for positions [P], or
 * [B, P, rotaryDim/2] for per-sequence positions [B][P]. */
export function ropeTables(
  like: Tensor,
  positions: readonly number[] | readonly (readonly number[])[],
  rotaryDim: number,
  theta: number,
): { cos: Tensor; sin: Tensor } {
  const half = rotaryDim / 2;
  const perSequence = Array.isArray(positions[0]);
  const rows = (perSequence ? (positions as number[][]) : [positions as number[]]).flat();
  const cos = new Float32Array(rows.length * half);
  const sin = new Float32Array(rows.length * half);
  const inverseFrequency = Array.from({ length: half }, (_, i) => 1 / theta ** ((2 * i) / rotaryDim));
  rows.forEach((p, row) => {
    for (let i = 0; i < half; i++) {
      const angle = p * inverseFrequency[i]!;
      cos[row * half + i] = Math.cos(angle);
      sin[row * half + i] = Math.sin(angle);
    }
  });
  const shape = perSequence ? [positions.length, (positions[0] as number[]).length, half] : [positions.length, half];
  const e = like.engine;
  return { cos: e.tensor(cos, shape), sin: e.tensor(sin, shape) };
}

/** Token embedding lookup: table [V, D], ids (i32, any shape) -> [...ids.shape, D]. */
export function embedding(table: Tensor, ids: Tensor): Tensor {
  expectDType('embedding', 'ids', ids.dtype, ['i32']);
  return indexSelect(table, 0, ids);
}

/**
 * Additive causal mask [queries, keys]: 0 where key j <= query i + offset, -Infinity after.
 * `offset` = number of cached keys before the queries (generation with a KV cache).
 */
export function causalMask(like: Tensor, queries: number, keys: number, offset = keys - queries): Tensor {
  const mask = new Float32Array(queries * keys);
  for (let i = 0; i < queries; i++) for (let j = 0; j < keys; j++) if (j > i + offset) mask[i * keys + j] = -Infinity;
  return like.engine.tensor(mask, [queries, keys]);
}

/** Adds a mask without recording it (masks carry no gradient). */
export function addMask(scores: Tensor, mask: Tensor): Tensor {
  const out = binary('add', scores, mask);
  return scores.engine.record('addMask', [scores], out, [], (g) => [g]);
}
