import { EngineError, expectDType, fmtShape } from '../errors';
import { normAxis, resolveReshape, sameShape, sizeOf, type Shape } from '../shape';
import type { Tensor } from '../tensor';
import { sum } from './reduce';

/** Shape changes and copies: reshape, permute, slice, concat, indexSelect, broadcastTo, cast. */

export function reshape(x: Tensor, shape: Shape): Tensor {
  const target = resolveReshape('reshape', x.shape, shape);
  const e = x.engine;
  const out = e.view(x, target);
  return e.record('reshape', [x], out, [], (g) => [reshape(g, x.shape)]);
}

export function permute(x: Tensor, perm: readonly number[]): Tensor {
  if (perm.length !== x.rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new EngineError('permute', `perm [${perm.join(',')}] is not a permutation of the axes of ${fmtShape(x.shape)}`);
  }
  const e = x.engine;
  const shape = perm.map((p) => x.shape[p]!);
  const out = e.wrap(e.backend.permute(x.data, x.shape, perm), shape, x.dtype);
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => (inverse[p] = i));
  return e.record('permute', [x], out, [], (g) => [permute(g, inverse)]);
}

/** Swaps two axes (negative axes count from the end). */
export function transpose(x: Tensor, axisA = -2, axisB = -1): Tensor {
  const a = normAxis('transpose', axisA, x.rank);
  const b = normAxis('transpose', axisB, x.rank);
  const perm = x.shape.map((_, i) => (i === a ? b : i === b ? a : i));
  return permute(x, perm);
}

/** The box of `x` starting at `starts` with extent `sizes` (-1: to the end of that axis). */
export function slice(x: Tensor, starts: readonly number[], sizes: readonly number[]): Tensor {
  if (starts.length !== x.rank || sizes.length !== x.rank) {
    throw new EngineError('slice', `starts/sizes of rank ${starts.length}/${sizes.length} for ${fmtShape(x.shape)}`);
  }
  const extent = sizes.map((s, i) => (s === -1 ? x.shape[i]! - starts[i]! : s));
  extent.forEach((s, i) => {
    if (starts[i]! < 0 || s < 0 || starts[i]! + s > x.shape[i]!) {
      throw new EngineError('slice', `[${starts[i]}, +${s}) out of range for axis ${i} of ${fmtShape(x.shape)}`);
    }
  });
  const e = x.engine;
  const out = e.wrap(e.backend.slice(x.data, x.shape, starts, extent), extent, x.dtype);
  return e.record('slice', [x], out, [], (g) => [e.wrap(e.backend.pad(g.data, extent, x.shape, starts), x.shape)]);
}

/** `length` entries of `axis` from `start` (torch.narrow). */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const a = normAxis('narrow', axis, x.rank);
  return slice(
    x,
    x.shape.map((_, i) => (i === a ? start : 0)),
    x.shape.map((d, i) => (i === a ? length : d)),
  );
}

export function concat(xs: readonly Tensor[], axis: number): Tensor {
  const first = xs[0];
  if (!first) throw new EngineError('concat', 'no tensors');
  const a = normAxis('concat', axis, first.rank);
  for (const x of xs) {
    if (x.dtype !== first.dtype || x.rank !== first.rank || x.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new EngineError('concat', `${fmtShape(x.shape)} ${x.dtype} does not match ${fmtShape(first.shape)} ${first.dtype} off axis ${a}`);
    }
  }
  const e = first.engine;
  const shape = first.shape.map((d, i) => (i === a ? xs.reduce((s, x) => s + x.shape[a]!, 0) : d));
  const out = e.wrap(
    e.backend.concat(
      xs.map((x) => x.data),
      xs.map((x) => x.shape),
      a,
    ),
    shape,
    first.dtype,
  );
  return e.record('concat', xs, out, [], (g) => {
    let offset = 0;
    return xs.map((x) => {
      const part = narrow(g, a, offset, x.shape[a]!);
      offset += x.shape[a]!;
      return part;
    });
  });
}

/** Entries `indices` (i32, any shape) of `axis`: the output replaces that axis by indices' shape.
 * With axis 0 this is an embedding lookup; the backward scatter-adds into the table. */
export function indexSelect(x: Tensor, axis: number, indices: Tensor): Tensor {
  expectDType('indexSelect', 'indices', indices.dtype, ['i32']);
  const a = normAxis('indexSelect', axis, x.rank);
  const e = x.engine;
  const count = indices.size;
  const shape = [...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)];
  const out = e.wrap(e.backend.gather(x.data, x.shape, x.dtype, indices.data, count, a), shape, x.dtype);
  return e.record('indexSelect', [x, indices], out, [indices], (g, [idx]) => [
    e.wrap(e.backend.scatterAdd(g.data, idx!.data, count, x.shape, a), x.shape),
    null,
  ]);
}

/** Repeats size-1 (or missing leading) axes up to `shape`; the backward sums them back. */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  if (sameShape(x.shape, shape)) return x;
  const e = x.engine;
  const zeros = e.zeros(shape);
  const out = e.wrap(e.backend.binary('add', zeros.data, shape, x.data, x.shape, shape), shape);
  zeros.dispose();
  return e.record('broadcastTo', [x], out, [], (g) => [unbroadcast(g, x.shape)]);
}

/** Sums a gradient over the axes that broadcasting expanded, back to `shape`. */
export function unbroadcast(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const summed = axes.length ? sum(g, axes, true) : g;
  if (sizeOf(summed.shape) !== sizeOf(shape)) {
    throw new EngineError('unbroadcast', `gradient ${fmtShape(g.shape)} cannot reduce to ${fmtShape(shape)}`);
  }
  return reshape(summed, shape);
}

/** Converts between dtypes (f16/bf16 weights to f32 for compute). Gradients flow as f32. */
export function cast(x: Tensor, dtype: Tensor['dtype']): Tensor {
  if (x.dtype === dtype) return x;
  const e = x.engine;
  const out = e.wrap(e.backend.cast(x.data, x.size, x.dtype, dtype), x.shape, dtype);
  return e.record('cast', [x], out, [], (g) => [g]);
}
