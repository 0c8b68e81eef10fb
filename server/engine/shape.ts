import { EngineError, fmtShape } from './errors';

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Numpy broadcasting of two shapes; throws naming the op when they are incompatible. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new EngineError(op, `a ${fmtShape(a)} vs b ${fmtShape(b)} cannot broadcast (dim ${i}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Resolves a possibly negative axis against a rank. */
export function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new EngineError(op, `axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** Resolves a reshape target that may contain one -1. */
export function resolveReshape(op: string, from: Shape, to: Shape): number[] {
  const total = sizeOf(from);
  const unknown = to.indexOf(-1);
  if (to.filter((d) => d === -1).length > 1) throw new EngineError(op, `more than one -1 in ${fmtShape(to)}`);
  const known = to.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const out = [...to];
  if (unknown >= 0) {
    if (known === 0 || total % known !== 0) {
      throw new EngineError(op, `cannot reshape ${fmtShape(from)} to ${fmtShape(to)}`);
    }
    out[unknown] = total / known;
  }
  if (sizeOf(out) !== total) throw new EngineError(op, `cannot reshape ${fmtShape(from)} (${total} elements) to ${fmtShape(to)}`);
  return out;
}

/** Strides of `shape` seen from an output of shape `outShape` under broadcasting (0 on broadcast dims). */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const rank = outShape.length;
  const own = stridesOf(shape);
  const out = new Array<number>(rank).fill(0);
  for (let i = 0; i < shape.length; i++) {
    const o = rank - shape.length + i;
    out[o] = shape[i] === 1 && outShape[o] !== 1 ? 0 : own[i]!;
  }
  return out;
}
