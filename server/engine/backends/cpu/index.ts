import { availableParallelism } from 'node:os';
import type { Backend, BinaryOp, MatmulArgs, NormArgs, ReduceOp, RopeArgs, UnaryOp } from '../../backend';
import { fromF32, toF32, type AnyTypedArray, type DType } from '../../dtype';
import { EngineError } from '../../errors';
import { broadcastStrides, sizeOf, stridesOf, type Shape } from '../../shape';
import { OrtGemm } from './gemm-ort';
import { erf, geluErf, geluErfGrad, geluTanh, geluTanhGrad, sigmoid, silu, siluGrad } from './math';

/**
 * The CPU backend: TypeScript loops for element-wise work, onnxruntime-node for matrix products.
 * Buffers are plain typed arrays (Float32Array for f32, Int32Array for i32, Uint16Array holding
 * f16/bf16 bits). It is the living definition the WebGPU kernels are tested against.
 */
type Buf = AnyTypedArray;
const f32 = (x: unknown) => x as Float32Array;
const i32 = (x: unknown) => x as Int32Array;

/** Below this many multiply-adds a JS loop beats the ~20-40 us cost of a native call. */
const ORT_MIN_MACS = 32 * 32 * 32;

const UNARY: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  abs: Math.abs,
  sign: Math.sign,
  square: (x) => x * x,
  reciprocal: (x) => 1 / x,
  tanh: Math.tanh,
  erf,
  sigmoid,
  relu: (x) => (x > 0 ? x : 0),
  step: (x) => (x > 0 ? 1 : 0),
  geluTanh,
  geluErf,
  silu,
  geluTanhGrad,
  geluErfGrad,
  siluGrad,
};

const BINARY: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  maximum: Math.max,
  minimum: Math.min,
  greater: (a, b) => (a > b ? 1 : 0),
  equal: (a, b) => (a === b ? 1 : 0),
};

/** Calls `visit(outIndex, offsetA, offsetB)` for every output element, walking an odometer. */
function forEachBroadcast(outShape: Shape, sa: number[], sb: number[], visit: (i: number, oa: number, ob: number) => void): void {
  const rank = outShape.length;
  const size = sizeOf(outShape);
  const idx = new Array<number>(rank).fill(0);
  let oa = 0;
  let ob = 0;
  for (let i = 0; i < size; i++) {
    visit(i, oa, ob);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      oa += sa[d]!;
      ob += sb[d]!;
      if (idx[d]! < outShape[d]!) break;
      oa -= sa[d]! * outShape[d]!;
      ob -= sb[d]! * outShape[d]!;
      idx[d] = 0;
    }
  }
}

export class CpuBackend implements Backend {
  readonly name = 'cpu';
  private live = 0;
  private readonly sizes = new WeakMap<object, number>();
  private readonly gemm: OrtGemm;

  /** GEMM threads: `threads`, else LOCUS_CPU_THREADS (one per process when many run side by side), else every core. */
  constructor(opts: { threads?: number } = {}) {
    const fromEnv = Number(process.env.LOCUS_CPU_THREADS);
    this.gemm = new OrtGemm(opts.threads ?? (Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : Math.max(1, availableParallelism())));
  }

  private own<T extends Buf>(buf: T): T {
    this.live += buf.byteLength;
    this.sizes.set(buf, buf.byteLength);
    return buf;
  }

  private newF32(size: number): Float32Array {
    return this.own(new Float32Array(size));
  }

  upload(values: AnyTypedArray): Buf {
    return this.own(values.slice());
  }

  read(data: unknown): Promise<AnyTypedArray> {
    return Promise.resolve((data as Buf).slice());
  }

  readSync(data: unknown): AnyTypedArray {
    return (data as Buf).slice();
  }

  free(data: unknown): void {
    const bytes = this.sizes.get(data as object);
    if (bytes === undefined) return;
    this.sizes.delete(data as object);
    this.live -= bytes;
  }

  bytesInUse(): number {
    return this.live;
  }

  fill(size: number, value: number, dtype: DType): Buf {
    if (dtype === 'f32') return this.own(new Float32Array(size).fill(value));
    if (dtype === 'i32') return this.own(new Int32Array(size).fill(value));
    return this.own(fromF32(new Float32Array(size).fill(value), dtype));
  }

  cast(x: unknown, _size: number, from: DType, to: DType): Buf {
    if (from === to) return this.own((x as Buf).slice());
    return this.own(fromF32(from === 'f32' ? f32(x) : toF32(x as Buf, from), to).slice());
  }

  unary(op: UnaryOp, x: unknown, size: number): Buf {
    const fn = UNARY[op];
    const a = f32(x);
    const out = this.newF32(size);
    for (let i = 0; i < size; i++) out[i] = fn(a[i]!);
    return out;
  }

  affine(x: unknown, size: number, scale: number, shift: number): Buf {
    const a = f32(x);
    const out = this.newF32(size);
    for (let i = 0; i < size; i++) out[i] = a[i]! * scale + shift;
    return out;
  }

  clamp(x: unknown, size: number, lo: number, hi: number): Buf {
    const a = f32(x);
    const out = this.newF32(size);
    for (let i = 0; i < size; i++) out[i] = Math.min(hi, Math.max(lo, a[i]!));
    return out;
  }

  binary(op: BinaryOp, xa: unknown, aShape: Shape, xb: unknown, bShape: Shape, outShape: Shape): Buf {
    const a = f32(xa);
    const b = f32(xb);
    const size = sizeOf(outShape);
    const out = this.newF32(size);
    const fn = BINARY[op];
    const na = a.length;
    const nb = b.length;
    if (op === 'add' && na === size && nb === size) for (let i = 0; i < size; i++) out[i] = a[i]! + b[i]!;
    else if (op === 'mul' && na === size && nb === size) for (let i = 0; i < size; i++) out[i] = a[i]! * b[i]!;
    else if (na === size && nb === size) for (let i = 0; i < size; i++) out[i] = fn(a[i]!, b[i]!);
    else if (na === size && isSuffix(bShape, outShape)) for (let i = 0; i < size; i++) out[i] = fn(a[i]!, b[i % nb]!);
    else if (nb === size && isSuffix(aShape, outShape)) for (let i = 0; i < size; i++) out[i] = fn(a[i % na]!, b[i]!);
    else {
      const sa = broadcastStrides(aShape, outShape);
      const sb = broadcastStrides(bShape, outShape);
      forEachBroadcast(outShape, sa, sb, (i, oa, ob) => (out[i] = fn(a[oa]!, b[ob]!)));
    }
    return out;
  }

  where(cond: unknown, xa: unknown, xb: unknown, size: number): Buf {
    const c = f32(cond);
    const a = f32(xa);
    const b = f32(xb);
    const out = this.newF32(size);
    for (let i = 0; i < size; i++) out[i] = c[i] !== 0 ? a[i]! : b[i]!;
    return out;
  }

  reduce(op: ReduceOp, x: unknown, shape: Shape, axes: readonly number[]): Buf {
    const a = f32(x);
    const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const size = sizeOf(outShape);
    const init = op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity;
    const out = this.newF32(size).fill(init);
    const rank = shape.length;
    // Fast path: reducing only the last axis, rows of `dim` contiguous values.
    if (axes.length === 1 && axes[0] === rank - 1) {
      const dim = shape[rank - 1]!;
      for (let r = 0; r < size; r++) {
        let acc = init;
        const base = r * dim;
        if (op === 'sum') for (let j = 0; j < dim; j++) acc += a[base + j]!;
        else if (op === 'max') for (let j = 0; j < dim; j++) acc = Math.max(acc, a[base + j]!);
        else for (let j = 0; j < dim; j++) acc = Math.min(acc, a[base + j]!);
        out[r] = acc;
      }
      return out;
    }
    const so = broadcastStrides(outShape, shape);
    const zeros = new Array<number>(rank).fill(0);
    if (op === 'sum') forEachBroadcast(shape, so, zeros, (i, o) => (out[o] = out[o]! + a[i]!));
    else if (op === 'max') forEachBroadcast(shape, so, zeros, (i, o) => (out[o] = Math.max(out[o]!, a[i]!)));
    else forEachBroadcast(shape, so, zeros, (i, o) => (out[o] = Math.min(out[o]!, a[i]!)));
    return out;
  }

  argmax(x: unknown, rows: number, dim: number): Buf {
    const a = f32(x);
    const out = this.own(new Int32Array(rows));
    for (let r = 0; r < rows; r++) {
      let best = 0;
      let bestValue = -Infinity;
      for (let j = 0; j < dim; j++) {
        const v = a[r * dim + j]!;
        if (v > bestValue) {
          bestValue = v;
          best = j;
        }
      }
      out[r] = best;
    }
    return out;
  }

  matmul(xa: unknown, xb: unknown, args: MatmulArgs): Buf {
    const { aShape, bShape, transA, transB, outShape } = args;
    const m = outShape[outShape.length - 2]!;
    const n = outShape[outShape.length - 1]!;
    const k = transA ? aShape[aShape.length - 2]! : aShape[aShape.length - 1]!;
    const batch = sizeOf(outShape) / (m * n);
    if (batch * m * n * k >= ORT_MIN_MACS) {
      return this.own(this.gemm.matmul(f32(xa), aShape, f32(xb), bShape, transA, transB));
    }
    return this.own(smallMatmul(f32(xa), f32(xb), args, m, n, k));
  }

  permute(x: unknown, shape: Shape, perm: readonly number[]): Buf {
    const a = x as Buf;
    const outShape = perm.map((p) => shape[p]!);
    const inStrides = stridesOf(shape);
    const permStrides = perm.map((p) => inStrides[p]!);
    const out = this.own(new (a.constructor as new (n: number) => Buf)(a.length));
    const zeros = new Array<number>(shape.length).fill(0);
    forEachBroadcast(outShape, permStrides, zeros, (i, o) => (out[i] = a[o]!));
    return out;
  }

  slice(x: unknown, shape: Shape, starts: readonly number[], sizes: readonly number[]): Buf {
    const a = x as Buf;
    const strides = stridesOf(shape);
    const out = this.own(new (a.constructor as new (n: number) => Buf)(sizeOf(sizes)));
    let base = 0;
    for (let d = 0; d < shape.length; d++) base += starts[d]! * strides[d]!;
    copyBox(sizes, strides, stridesOf(sizes), (i, o) => (out[o] = a[base + i]!));
    return out;
  }

  pad(x: unknown, sizes: readonly number[], shape: Shape, starts: readonly number[]): Buf {
    const g = f32(x);
    const strides = stridesOf(shape);
    const out = this.newF32(sizeOf(shape));
    let base = 0;
    for (let d = 0; d < shape.length; d++) base += starts[d]! * strides[d]!;
    copyBox(sizes, strides, stridesOf(sizes), (i, o) => (out[base + i] = g[o]!));
    return out;
  }

  concat(xs: readonly unknown[], shapes: readonly Shape[], axis: number): Buf {
    const first = xs[0] as Buf;
    const outer = sizeOf(shapes[0]!.slice(0, axis));
    const inner = sizeOf(shapes[0]!.slice(axis + 1));
    const total = shapes.reduce((s, sh) => s + sh[axis]!, 0);
    const out = this.own(new (first.constructor as new (n: number) => Buf)(outer * total * inner));
    let offset = 0;
    xs.forEach((x, k) => {
      const a = x as Buf;
      const chunk = shapes[k]![axis]! * inner;
      for (let o = 0; o < outer; o++) out.set(a.subarray(o * chunk, (o + 1) * chunk), o * total * inner + offset);
      offset += chunk;
    });
    return out;
  }

  gather(x: unknown, shape: Shape, _dtype: DType, indices: unknown, count: number, axis: number): Buf {
    const a = x as Buf;
    const idx = i32(indices);
    const outer = sizeOf(shape.slice(0, axis));
    const dim = shape[axis]!;
    const inner = sizeOf(shape.slice(axis + 1));
    const out = this.own(new (a.constructor as new (n: number) => Buf)(outer * count * inner));
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < count; j++) {
        const row = idx[j]!;
        if (row < 0 || row >= dim) throw new EngineError('gather', `index ${row} out of range [0, ${dim}) on axis ${axis}`);
        const src = (o * dim + row) * inner;
        out.set(a.subarray(src, src + inner), (o * count + j) * inner);
      }
    }
    return out;
  }

  scatterAdd(gx: unknown, indices: unknown, count: number, shape: Shape, axis: number): Buf {
    const g = f32(gx);
    const idx = i32(indices);
    const outer = sizeOf(shape.slice(0, axis));
    const dim = shape[axis]!;
    const inner = sizeOf(shape.slice(axis + 1));
    const out = this.newF32(sizeOf(shape));
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < count; j++) {
        const dst = (o * dim + idx[j]!) * inner;
        const src = (o * count + j) * inner;
        for (let e = 0; e < inner; e++) out[dst + e] = out[dst + e]! + g[src + e]!;
      }
    }
    return out;
  }

  takeAlongLast(x: unknown, indices: unknown, rows: number, dim: number): Buf {
    const a = f32(x);
    const idx = i32(indices);
    const out = this.newF32(rows);
    for (let r = 0; r < rows; r++) {
      const j = idx[r]!;
      if (j < 0 || j >= dim) throw new EngineError('takeAlongLast', `index ${j} out of range [0, ${dim}) in row ${r}`);
      out[r] = a[r * dim + j]!;
    }
    return out;
  }

  putAlongLast(gx: unknown, indices: unknown, rows: number, dim: number): Buf {
    const g = f32(gx);
    const idx = i32(indices);
    const out = this.newF32(rows * dim);
    for (let r = 0; r < rows; r++) out[r * dim + idx[r]!] = g[r]!;
    return out;
  }

  softmax(x: unknown, rows: number, dim: number): Buf {
    const a = f32(x);
    const out = this.newF32(rows * dim);
    for (let r = 0; r < rows; r++) {
      const base = r * dim;
      let max = -Infinity;
      for (let j = 0; j < dim; j++) max = Math.max(max, a[base + j]!);
      if (max === -Infinity) continue; // a fully masked row: all zeros rather than NaN
      let sum = 0;
      for (let j = 0; j < dim; j++) {
        const e = Math.exp(a[base + j]! - max);
        out[base + j] = e;
        sum += e;
      }
      const inv = 1 / sum;
      for (let j = 0; j < dim; j++) out[base + j] = out[base + j]! * inv;
    }
    return out;
  }

  logSoftmax(x: unknown, rows: number, dim: number): Buf {
    const a = f32(x);
    const out = this.newF32(rows * dim);
    for (let r = 0; r < rows; r++) {
      const base = r * dim;
      let max = -Infinity;
      for (let j = 0; j < dim; j++) max = Math.max(max, a[base + j]!);
      let sum = 0;
      for (let j = 0; j < dim; j++) sum += Math.exp(a[base + j]! - max);
      const shift = max + Math.log(sum);
      for (let j = 0; j < dim; j++) out[base + j] = a[base + j]! - shift;
    }
    return out;
  }

  layerNorm(x: unknown, gamma: unknown, beta: unknown, { rows, dim, eps }: NormArgs) {
    const a = f32(x);
    const w = f32(gamma);
    const b = beta === null ? null : f32(beta);
    const out = this.newF32(rows * dim);
    const mean = this.newF32(rows);
    const rstd = this.newF32(rows);
    for (let r = 0; r < rows; r++) {
      const base = r * dim;
      let mu = 0;
      for (let j = 0; j < dim; j++) mu += a[base + j]!;
      mu /= dim;
      let variance = 0;
      for (let j = 0; j < dim; j++) {
        const c = a[base + j]! - mu;
        variance += c * c;
      }
      const rs = 1 / Math.sqrt(variance / dim + eps);
      mean[r] = mu;
      rstd[r] = rs;
      for (let j = 0; j < dim; j++) out[base + j] = (a[base + j]! - mu) * rs * w[j]! + (b ? b[j]! : 0);
    }
    return { out, mean, rstd };
  }

  layerNormBackward(gx: unknown, x: unknown, gamma: unknown, meanX: unknown, rstdX: unknown, { rows, dim, paramGrads = true }: NormArgs) {
    const g = f32(gx);
    const a = f32(x);
    const w = f32(gamma);
    const mean = f32(meanX);
    const rstd = f32(rstdX);
    const dx = this.newF32(rows * dim);
    const dgamma = paramGrads ? this.newF32(dim) : null;
    const dbeta = paramGrads ? this.newF32(dim) : null;
    for (let r = 0; r < rows; r++) {
      const base = r * dim;
      const mu = mean[r]!;
      const rs = rstd[r]!;
      // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = g * gamma
      let sumD = 0;
      let sumDX = 0;
      for (let j = 0; j < dim; j++) {
        const xhat = (a[base + j]! - mu) * rs;
        const d = g[base + j]! * w[j]!;
        sumD += d;
        sumDX += d * xhat;
        if (dgamma && dbeta) {
          dgamma[j] = dgamma[j]! + g[base + j]! * xhat;
          dbeta[j] = dbeta[j]! + g[base + j]!;
        }
      }
      sumD /= dim;
      sumDX /= dim;
      for (let j = 0; j < dim; j++) {
        const xhat = (a[base + j]! - mu) * rs;
        dx[base + j] = rs * (g[base + j]! * w[j]! - sumD - xhat * sumDX);
      }
    }
    return { dx, dgamma, dbeta };
  }

  rmsNorm(x: unknown, gamma: unknown, { rows, dim, eps }: NormArgs) {
    const a = f32(x);
    const w = f32(gamma);
    const out = this.newF32(rows * dim);
    const rstd = this.newF32(rows);
    for (let r = 0; r < rows; r++) {
      const base = r * dim;
      let ms = 0;
      for (let j = 0; j < dim; j++) ms += a[base + j]! * a[base + j]!;
      const rs = 1 / Math.sqrt(ms / dim + eps);
      rstd[r] = rs;
      for (let j = 0; j < dim; j++) out[base + j] = a[base + j]! * rs * w[j]!;
    }
    return { out, rstd };
  }

  rmsNormBackward(gx: unknown, x: unknown, gamma: unknown, rstdX: unknown, { rows, dim, paramGrads = true }: NormArgs) {
    const g = f32(gx);
    const a = f32(x);
    const w = f32(gamma);
    const rstd = f32(rstdX);
    const dx = this.newF32(rows * dim);
    const dgamma = paramGrads ? this.newF32(dim) : null;
    for (let r = 0; r < rows; r++) {
      const base = r * dim;
      const rs = rstd[r]!;
      // dx = rstd * g*gamma - x * rstd^3 * mean(g * gamma * x)
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += g[base + j]! * w[j]! * a[base + j]!;
      const c = (dot / dim) * rs * rs * rs;
      for (let j = 0; j < dim; j++) {
        dx[base + j] = rs * g[base + j]! * w[j]! - a[base + j]! * c;
        if (dgamma) dgamma[j] = dgamma[j]! + g[base + j]! * a[base + j]! * rs;
      }
    }
    return { dx, dgamma };
  }

  rope(x: unknown, cosX: unknown, sinX: unknown, { shape, rotaryDim, interleaved, inverse, tableBatch }: RopeArgs): Buf {
    const a = f32(x);
    const cos = f32(cosX);
    const sin = f32(sinX);
    const d = shape[shape.length - 1]!;
    const t = shape[shape.length - 2]!;
    const half = rotaryDim / 2;
    const sign = inverse ? -1 : 1;
    const out = this.own(a.slice());
    const rows = a.length / d;
    const rowsPerTable = rows / tableBatch;
    for (let r = 0; r < rows; r++) {
      const pos = Math.floor(r / rowsPerTable) * t + (r % t);
      const base = r * d;
      for (let i = 0; i < half; i++) {
        const c = cos[pos * half + i]!;
        const s = sign * sin[pos * half + i]!;
        const i1 = interleaved ? base + 2 * i : base + i;
        const i2 = interleaved ? base + 2 * i + 1 : base + i + half;
        const x1 = a[i1]!;
        const x2 = a[i2]!;
        out[i1] = x1 * c - x2 * s;
        out[i2] = x2 * c + x1 * s;
      }
    }
    return out;
  }
}

function isSuffix(small: Shape, big: Shape): boolean {
  const offset = big.length - small.length;
  if (offset < 0) return false;
  return small.every((d, i) => d === big[offset + i]);
}

/** Visits a box of extent `sizes` inside an array with `strides`: visit(offsetInArray, offsetInBox). */
function copyBox(sizes: readonly number[], strides: number[], boxStrides: number[], visit: (i: number, o: number) => void): void {
  forEachBroadcast(sizes, boxStrides, strides, (_, o, i) => visit(i, o));
}

function smallMatmul(a: Float32Array, b: Float32Array, args: MatmulArgs, m: number, n: number, k: number): Float32Array {
  const { aShape, bShape, transA, transB, outShape } = args;
  const batchShape = outShape.slice(0, -2);
  const aBatch = broadcastStrides(aShape.slice(0, -2), batchShape).map((s) => s * m * k);
  const bBatch = broadcastStrides(bShape.slice(0, -2), batchShape).map((s) => s * k * n);
  // strides within one matrix
  const aRow = transA ? 1 : k;
  const aCol = transA ? m : 1;
  const bRow = transB ? 1 : n;
  const bCol = transB ? k : 1;
  const out = new Float32Array(sizeOf(outShape));
  forEachBroadcast(batchShape, aBatch, bBatch, (bi, oa, ob) => {
    const oo = bi * m * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) acc += a[oa + i * aRow + p * aCol]! * b[ob + p * bRow + j * bCol]!;
        out[oo + i * n + j] = acc;
      }
    }
  });
  return out;
}

