import { normAxis, sizeOf } from '../shape';
import type { Tensor } from '../tensor';
import { binary, mul, mulScalar } from './elementwise';
import { broadcastTo, reshape } from './layout';
import { expectF32 } from './util';

/** Reductions over axes (all axes when none are given). */

function resolveAxes(op: string, x: Tensor, axes?: number | readonly number[]): number[] {
  if (axes === undefined) return x.shape.map((_, i) => i);
  const list = typeof axes === 'number' ? [axes] : [...axes];
  return [...new Set(list.map((a) => normAxis(op, a, x.rank)))].sort((a, b) => a - b);
}

function dropAxes(shape: readonly number[], axes: number[]): number[] {
  return shape.filter((_, i) => !axes.includes(i));
}

export function sum(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  expectF32('sum', ['x', x]);
  const e = x.engine;
  const ax = resolveAxes('sum', x, axes);
  const kept = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const out = e.wrap(e.backend.reduce('sum', x.data, x.shape, ax), keepDims ? kept : dropAxes(x.shape, ax));
  return e.record('sum', [x], out, [], (g) => [broadcastTo(reshape(g, kept), x.shape)]);
}

export function mean(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const ax = resolveAxes('mean', x, axes);
  const count = sizeOf(ax.map((a) => x.shape[a]!));
  return mulScalar(sum(x, ax, keepDims), 1 / count);
}

/** Maximum over axes; the gradient is shared equally among tied maxima. */
export function max(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  expectF32('max', ['x', x]);
  const e = x.engine;
  const ax = resolveAxes('max', x, axes);
  const kept = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const out = e.wrap(e.backend.reduce('max', x.data, x.shape, ax), keepDims ? kept : dropAxes(x.shape, ax));
  return e.record('max', [x], out, [x, out], (g, [xs, m]) => {
    const isMax = binary('equal', xs!, reshape(m!, kept));
    const ties = sum(isMax, ax, true);
    return [mul(isMax, binary('div', reshape(g, kept), ties))];
  });
}

/** Index of the largest entry along the last axis (i32, no gradient). */
export function argmax(x: Tensor): Tensor {
  expectF32('argmax', ['x', x]);
  const e = x.engine;
  const dim = x.shape[x.rank - 1] ?? 1;
  return e.wrap(e.backend.argmax(x.data, x.size / dim, dim), x.shape.slice(0, -1), 'i32');
}
