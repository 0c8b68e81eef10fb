/**
 * The WebGPU backend (issue 5): the Backend kernel table in WGSL (./kernels.ts) on a GPU driver
 * (./driver.ts: wgpu through our addon by default, or Dawn), checked op by op against the CPU
 * backend (bench/webgpu/parity.ts, and server/engine/backends/webgpu/webgpu.test.ts on lavapipe).
 *
 * Dispatch stays synchronous, as the engine wants: kernels are recorded in order and submitted when
 * something is read back (or after many passes). Buffers come from a pool keyed by size; a freed
 * buffer may be reused by a later kernel before the submit, which is safe because the queue runs
 * passes in order. An upload into a pooled buffer first submits the recorded work, which may
 * still read the buffer's old contents.
 */
import type { Backend, BinaryOp, MatmulArgs, NormArgs, ReduceOp, RopeArgs, UnaryOp } from '../../backend';
import { fromF32, toF32, type AnyTypedArray, type DType } from '../../dtype';
import { EngineError } from '../../errors';
import { broadcastStrides, sizeOf, stridesOf, type Shape } from '../../shape';
import type { GpuDriver, GpuHandle } from './driver';
import * as K from './kernels';
import { defaultTile, MatmulTuner, tileCols, tiledKey, tiledMatmulKernel, tileRows, type MatmulTile } from './matmul';

interface GpuBuf {
  buffer: GpuHandle;
  /** Bytes asked for (elements x 4). */
  bytes: number;
  /** Pool class: the buffer's real size. */
  capacity: number;
}

const DTYPE_CODE: Record<DType, number> = { f32: 0, i32: 1, f16: 2, bf16: 3 };
/** Passes recorded before they are submitted even without a read. */
const MAX_PASSES = 256;
/** Products with fewer multiply-adds take the default tile untimed (timing would cost more than it saves). */
const TUNE_MIN_WORK = 2 ** 28;
/** The pool may always keep this much (see `free`). */
const POOL_MIN_BYTES = 2 ** 30;

const f32Bits = (v: number) => new Uint32Array(new Float32Array([v]).buffer)[0]!;
/**
 * Pool classes: multiples of 256 bytes up to 1 MiB, then eight classes per octave (at most 12.5%
 * unused). Exact sizes made every sequence length its own class: a ROME edit of a GPT-2 XL-size model
 * left 70-85 GiB of pooled buffers no later tensor fitted (bench/BENCHMARKS.md, issue 8).
 */
export function capacityOf(bytes: number): number {
  const b = Math.max(4, bytes);
  if (b <= 2 ** 20) return Math.ceil(b / 256) * 256;
  const step = 2 ** (Math.floor(Math.log2(b)) - 3);
  return Math.ceil(b / step) * step;
}

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu';
  private readonly pipelines = new Map<string, GpuHandle>();
  private readonly pool = new Map<number, GpuHandle[]>();
  private live = 0;
  /** Bytes of freed buffers kept for reuse. */
  private pooled = 0;
  /** The most bytes held at once (tensors + pool): the backend's peak GPU memory. */
  peakBytes = 0;
  private passes = 0;
  /** Freed buffers to end at the next submit (the pool was full); counted in `pooled` until then. */
  private readonly doomed: GpuBuf[] = [];
  /** Matmul tiles chosen by timing (see `tileFor`); its log is what the benchmarks print. */
  readonly tuner = new MatmulTuner();
  /** LOCUS_WGPU_TUNE=0 turns timing off (every product takes `defaultTile`); off on CPU-emulated devices. */
  tuning: boolean;
  /** One tile for every tiled product, instead of the chosen one. */
  tileOverride: MatmulTile | undefined;

  constructor(readonly driver: GpuDriver) {
    // Timings of a Vulkan device emulated on the CPU (Mesa's llvmpipe) say nothing about a GPU.
    this.tuning = process.env.LOCUS_WGPU_TUNE !== '0' && !/llvmpipe/i.test(driver.info.adapter);
  }

  // ---- buffers -------------------------------------------------------------------------------

  private alloc(elements: number): GpuBuf {
    const bytes = Math.max(4, elements * 4);
    const capacity = capacityOf(bytes);
    const pooled = this.pool.get(capacity)?.pop();
    if (pooled !== undefined) this.pooled -= capacity;
    const buffer = pooled ?? this.create(capacity);
    this.held(capacity);
    return { buffer, bytes, capacity };
  }

  /** A new buffer; when the device is full, the pool is emptied once and the allocation retried. */
  private create(capacity: number): GpuHandle {
    try {
      return this.driver.createBuffer(capacity);
    } catch (error) {
      if (this.pool.size === 0) throw this.outOfMemory(capacity, error);
      this.trim();
      try {
        return this.driver.createBuffer(capacity);
      } catch (again) {
        throw this.outOfMemory(capacity, again);
      }
    }
  }

  private held(capacity: number): void {
    this.live += capacity;
    this.peakBytes = Math.max(this.peakBytes, this.live + this.pooled);
  }

  private outOfMemory(capacity: number, error: unknown): EngineError {
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
    return new EngineError('webgpu', `cannot allocate ${mib(capacity)} on ${this.driver.info.adapter}: ${mib(this.live)} held by tensors (${(error as Error).message})`);
  }

  upload(values: AnyTypedArray, dtype: DType): GpuBuf {
    // f16 and bf16 are held widened to f32 (see kernels.ts)
    const words = dtype === 'f32' || dtype === 'i32' ? (values as Float32Array | Int32Array) : toF32(values, dtype);
    const bytes = Math.max(4, words.byteLength);
    const capacity = capacityOf(bytes);
    const data = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
    // A pooled buffer, written after the recorded work (which may read its old contents) is
    // submitted; else a fresh one. Always fresh ones would grow the pool by every freed upload.
    const pooled = this.pool.get(capacity)?.pop();
    if (pooled !== undefined) {
      this.pooled -= capacity;
      if (this.passes > 0) this.flush();
      if (data.byteLength > 0) this.driver.write(pooled, data);
    }
    const buffer = pooled ?? this.driver.upload(data, capacity);
    this.held(capacity);
    return { buffer, bytes, capacity };
  }

  read(data: unknown, dtype: DType, size: number): Promise<AnyTypedArray> {
    return this.readMany([{ data, dtype, size }]).then(([values]) => values!);
  }

  /** Several buffers in one readback: one wait for the GPU instead of one per buffer. */
  async readMany(items: readonly { data: unknown; dtype: DType; size: number }[]): Promise<AnyTypedArray[]> {
    const bytes = items.map(({ size }) => Math.max(4, size * 4));
    this.passes = 0;
    const all = await this.driver.read(items.map(({ data }) => (data as GpuBuf).buffer), bytes);
    this.endDoomed(); // the read submitted everything recorded
    return this.unpack(items, bytes, all);
  }

  private unpack(items: readonly { dtype: DType; size: number }[], bytes: number[], all: ArrayBuffer): AnyTypedArray[] {
    let offset = 0;
    return items.map(({ dtype, size }, i) => {
      const copy = all.slice(offset, offset + size * 4);
      offset += bytes[i]!;
      if (dtype === 'i32') return new Int32Array(copy);
      const f = new Float32Array(copy);
      return dtype === 'f32' ? f : fromF32(f, dtype);
    });
  }

  /** With the wgpu driver, a read that waits for the GPU in place; Dawn's cannot (undefined). */
  readSync(data: unknown, dtype: DType, size: number): AnyTypedArray | undefined {
    if (!this.driver.readSync) return undefined;
    const bytes = [Math.max(4, size * 4)];
    this.passes = 0;
    const all = this.driver.readSync([(data as GpuBuf).buffer], bytes);
    this.endDoomed();
    return this.unpack([{ dtype, size }], bytes, all)[0];
  }

  free(data: unknown): void {
    const buf = data as GpuBuf;
    if (buf?.buffer === undefined) return;
    this.live -= buf.capacity;
    this.pooled += buf.capacity;
    // The pool keeps at most as much as the live tensors (and 1 GiB at least); past that a freed
    // buffer is ended, after the recorded work that may still use it is submitted (see `flush`).
    if (this.pooled > Math.max(POOL_MIN_BYTES, this.live)) {
      this.doomed.push(buf);
      return;
    }
    let list = this.pool.get(buf.capacity);
    if (!list) this.pool.set(buf.capacity, (list = []));
    list.push(buf.buffer);
  }

  bytesInUse(): number {
    return this.live;
  }

  resetPeak(): void {
    this.peakBytes = this.live + this.pooled;
  }

  /** Submits what is recorded. Reads do it; so does a long run of kernels without a read. */
  flush(): void {
    this.driver.submit();
    this.passes = 0;
    this.endDoomed();
  }

  /** Ends the buffers `free` turned away from the pool; only after a submit (recorded work may read them). */
  private endDoomed(): void {
    for (const b of this.doomed) {
      this.driver.destroy(b.buffer);
      this.pooled -= b.capacity;
    }
    this.doomed.length = 0;
  }

  /** Waits until the GPU has run everything recorded (for timing). */
  async sync(): Promise<void> {
    this.passes = 0;
    await this.driver.finish();
  }

  /** Ends the pooled buffers (kept for reuse after `free`). */
  trim(): void {
    this.flush();
    for (const list of this.pool.values()) for (const b of list) this.driver.destroy(b);
    this.pool.clear();
    this.pooled = 0;
  }

  // ---- dispatch ------------------------------------------------------------------------------

  /**
   * The matmul tile for a product: `tileOverride` when set (the parity checks run every candidate),
   * else, for products of at least TUNE_MIN_WORK multiply-adds on a driver that can wait in place,
   * the fastest candidate timed on the first product of that shape; else `defaultTile`.
   */
  private tileFor(m: number, n: number, k: number, batch: number, transA: boolean, transB: boolean, dispatch: (tile: MatmulTile) => void): MatmulTile {
    if (this.tileOverride) return this.tileOverride;
    const finish = this.driver.finishSync?.bind(this.driver);
    if (!this.tuning || !finish || m * n * k * batch < TUNE_MIN_WORK) return defaultTile(m, n, batch);
    // One timing per shape class (each size rounded up to a power of two): a product over a
    // different number of tokens each batch must not be timed again each time.
    const up = (v: number) => 2 ** Math.ceil(Math.log2(v));
    return this.tuner.choose(`${up(m)}x${up(n)}x${up(k)} batch ${up(batch)} transA=${transA} transB=${transB}`, (tile) => {
      this.flush();
      finish();
      const started = performance.now();
      dispatch(tile);
      this.flush();
      finish();
      return (performance.now() - started) / 1000;
    });
  }

  /** Compiles every kernel ahead, instead of on first use. */
  warm(): void {
    for (const [key, code] of K.allKernels()) if (!this.pipelines.has(key)) this.pipelines.set(key, this.driver.compile(code));
  }

  private pipeline(key: string, code: () => string): GpuHandle {
    let p = this.pipelines.get(key);
    if (p === undefined) {
      p = this.driver.compile(code());
      this.pipelines.set(key, p);
    }
    return p;
  }

  /** Records one kernel: parameters, then the buffers in binding order (1..n), on a grid of workgroups. */
  private run(key: string, code: () => string, prm: number[], buffers: GpuBuf[], groups: [number, number, number]): void {
    const params = Uint32Array.from(prm, (v) => v >>> 0);
    this.driver.dispatch(this.pipeline(key, code), params, buffers.map((b) => b.buffer), groups);
    if (++this.passes >= MAX_PASSES) this.flush();
  }

  /** Workgroups for one invocation per element, as a 2-D grid when there are more than 65535. */
  private grid(n: number): [number, number, number] {
    const groups = Math.max(1, Math.ceil(n / K.WG));
    const x = Math.min(groups, 65535);
    return [x, Math.ceil(groups / x), 1];
  }

  /** One workgroup per row (the ROWWISE kernels). */
  private rowwise(key: string, code: () => string, rows: number, prm: number[], inputs: GpuBuf[], outputs: GpuBuf[]): void {
    const x = Math.min(Math.max(1, rows), 65535);
    this.run(key, code, [rows, ...prm], [...inputs, ...outputs], [x, Math.ceil(Math.max(1, rows) / x), 1]);
  }

  private elementwise(key: string, code: () => string, n: number, prm: number[], inputs: GpuBuf[], outputs: GpuBuf[]): void {
    this.run(key, code, [n, ...prm], [...inputs, ...outputs], this.grid(n));
  }

  // ---- kernels -------------------------------------------------------------------------------

  fill(size: number, value: number, dtype: DType): GpuBuf {
    const out = this.alloc(size);
    const bits = dtype === 'i32' ? new Uint32Array(new Int32Array([Math.trunc(value)]).buffer)[0]! : f32Bits(this.round(value, dtype));
    this.elementwise('fill', () => K.FILL, size, [bits], [], [out]);
    return out;
  }

  /** A scalar rounded to the dtype's precision (f16/bf16 are held as f32). */
  private round(value: number, dtype: DType): number {
    return dtype === 'f16' || dtype === 'bf16' ? toF32(fromF32(new Float32Array([value]), dtype), dtype)[0]! : value;
  }

  cast(x: unknown, size: number, from: DType, to: DType): GpuBuf {
    const out = this.alloc(size);
    this.elementwise('cast', () => K.CAST, size, [DTYPE_CODE[from], DTYPE_CODE[to]], [x as GpuBuf], [out]);
    return out;
  }

  unary(op: UnaryOp, x: unknown, size: number): GpuBuf {
    const out = this.alloc(size);
    this.elementwise(`unary:${op}`, () => K.unaryKernel(op), size, [], [x as GpuBuf], [out]);
    return out;
  }

  affine(x: unknown, size: number, scale: number, shift: number): GpuBuf {
    const out = this.alloc(size);
    this.elementwise('affine', () => K.AFFINE, size, [f32Bits(scale), f32Bits(shift)], [x as GpuBuf], [out]);
    return out;
  }

  clamp(x: unknown, size: number, lo: number, hi: number): GpuBuf {
    const out = this.alloc(size);
    this.elementwise('clamp', () => K.CLAMP, size, [f32Bits(lo), f32Bits(hi)], [x as GpuBuf], [out]);
    return out;
  }

  binary(op: BinaryOp, a: unknown, aShape: Shape, b: unknown, bShape: Shape, outShape: Shape): GpuBuf {
    const size = sizeOf(outShape);
    const out = this.alloc(size);
    const rank = Math.max(1, outShape.length);
    const shape = outShape.length ? [...outShape] : [1];
    const sa = outShape.length ? broadcastStrides(aShape, outShape) : [0];
    const sb = outShape.length ? broadcastStrides(bShape, outShape) : [0];
    this.elementwise(`binary:${op}`, () => K.binaryKernel(op), size, [rank, ...shape, ...sa, ...sb], [a as GpuBuf, b as GpuBuf], [out]);
    return out;
  }

  where(cond: unknown, a: unknown, b: unknown, size: number): GpuBuf {
    const out = this.alloc(size);
    this.elementwise('where', () => K.WHERE, size, [], [cond as GpuBuf, a as GpuBuf, b as GpuBuf], [out]);
    return out;
  }

  reduce(op: ReduceOp, x: unknown, shape: Shape, axes: readonly number[]): GpuBuf {
    const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const size = sizeOf(outShape);
    const out = this.alloc(size);
    const rank = shape.length;
    const reduced = shape.map((_, i) => (axes.includes(i) ? 1 : 0));
    const count = sizeOf(shape.filter((_, i) => axes.includes(i)));
    this.elementwise(`reduce:${op}`, () => K.reduceKernel(op), size, [rank, ...shape, ...stridesOf(shape), ...reduced, count], [x as GpuBuf], [out]);
    return out;
  }

  argmax(x: unknown, rows: number, dim: number): GpuBuf {
    const out = this.alloc(rows);
    this.elementwise('argmax', () => K.ARGMAX, rows, [dim], [x as GpuBuf], [out]);
    return out;
  }

  matmul(a: unknown, b: unknown, { aShape, bShape, transA, transB, outShape }: MatmulArgs): GpuBuf {
    const m = outShape[outShape.length - 2]!;
    const n = outShape[outShape.length - 1]!;
    const k = transA ? aShape[aShape.length - 2]! : aShape[aShape.length - 1]!;
    const batchShape = outShape.slice(0, -2);
    const batch = sizeOf(batchShape);
    if (batch > 65535) throw new EngineError('matmul', `batch of ${batch} matrices is more than one dispatch takes (65535)`);
    const aBatch = broadcastStrides(aShape.slice(0, -2), batchShape).map((s) => s * m * k);
    const bBatch = broadcastStrides(bShape.slice(0, -2), batchShape).map((s) => s * k * n);
    const out = this.alloc(batch * m * n);
    const prm = [m, n, k, transA ? 1 : 0, transB ? 1 : 0, batchShape.length, ...batchShape, ...aBatch, ...bBatch];
    // Tiles waste most of their work on thin products; below 64 rows or columns the 16x16 kernel.
    if (m >= 64 && n >= 64 && k >= 16) {
      const buffers = [a as GpuBuf, b as GpuBuf, out];
      const dispatch = (tile: MatmulTile) =>
        this.run(tiledKey(tile, transA, transB), () => tiledMatmulKernel(tile, transA, transB), prm, buffers, [Math.ceil(n / tileCols(tile)), Math.ceil(m / tileRows(tile)), batch]);
      dispatch(this.tileFor(m, n, k, batch, transA, transB, dispatch));
      return out;
    }
    this.run('matmul', () => K.MATMUL, prm, [a as GpuBuf, b as GpuBuf, out], [
      Math.ceil(n / 16),
      Math.ceil(m / 16),
      batch,
    ]);
    return out;
  }

  /** out[i] = x[base + idx . strides] over `shape`: permute and slice. */
  private strided(x: GpuBuf, shape: readonly number[], strides: readonly number[], base: number): GpuBuf {
    const size = sizeOf(shape);
    const out = this.alloc(size);
    const rank = Math.max(1, shape.length);
    this.elementwise('strided', () => K.GATHER_STRIDED, size, [base, rank, ...(shape.length ? shape : [1]), ...(strides.length ? strides : [0])], [x], [out]);
    return out;
  }

  permute(x: unknown, shape: Shape, perm: readonly number[]): GpuBuf {
    const inStrides = stridesOf(shape);
    return this.strided(
      x as GpuBuf,
      perm.map((p) => shape[p]!),
      perm.map((p) => inStrides[p]!),
      0,
    );
  }

  slice(x: unknown, shape: Shape, starts: readonly number[], sizes: readonly number[]): GpuBuf {
    const strides = stridesOf(shape);
    const base = starts.reduce((acc, s, d) => acc + s * strides[d]!, 0);
    return this.strided(x as GpuBuf, sizes, strides, base);
  }

  pad(x: unknown, sizes: readonly number[], shape: Shape, starts: readonly number[]): GpuBuf {
    const size = sizeOf(shape);
    const out = this.alloc(size);
    this.elementwise('pad', () => K.PAD, size, [shape.length, ...shape, ...starts, ...sizes], [x as GpuBuf], [out]);
    return out;
  }

  concat(xs: readonly unknown[], shapes: readonly Shape[], axis: number): GpuBuf {
    const outer = sizeOf(shapes[0]!.slice(0, axis));
    const inner = sizeOf(shapes[0]!.slice(axis + 1));
    const total = shapes.reduce((s, sh) => s + sh[axis]!, 0);
    const out = this.alloc(outer * total * inner);
    let offset = 0;
    xs.forEach((x, k) => {
      const chunk = shapes[k]![axis]! * inner;
      if (chunk > 0) this.elementwise('concat', () => K.CONCAT_PART, outer * chunk, [chunk, total * inner, offset], [x as GpuBuf], [out]);
      offset += chunk;
    });
    return out;
  }

  gather(x: unknown, shape: Shape, _dtype: DType, indices: unknown, count: number, axis: number): GpuBuf {
    const outer = sizeOf(shape.slice(0, axis));
    const dim = shape[axis]!;
    const inner = sizeOf(shape.slice(axis + 1));
    const size = outer * count * inner;
    const out = this.alloc(size);
    this.elementwise('gather', () => K.GATHER, size, [count, dim, inner], [x as GpuBuf, indices as GpuBuf], [out]);
    return out;
  }

  scatterAdd(g: unknown, indices: unknown, count: number, shape: Shape, axis: number): GpuBuf {
    const dim = shape[axis]!;
    const inner = sizeOf(shape.slice(axis + 1));
    const size = sizeOf(shape);
    const out = this.alloc(size);
    this.elementwise('scatterAdd', () => K.SCATTER_ADD, size, [count, dim, inner], [g as GpuBuf, indices as GpuBuf], [out]);
    return out;
  }

  takeAlongLast(x: unknown, indices: unknown, rows: number, dim: number): GpuBuf {
    const out = this.alloc(rows);
    this.elementwise('takeAlongLast', () => K.TAKE_ALONG_LAST, rows, [dim], [x as GpuBuf, indices as GpuBuf], [out]);
    return out;
  }

  putAlongLast(g: unknown, indices: unknown, rows: number, dim: number): GpuBuf {
    const out = this.alloc(rows * dim);
    this.elementwise('putAlongLast', () => K.PUT_ALONG_LAST, rows * dim, [dim], [g as GpuBuf, indices as GpuBuf], [out]);
    return out;
  }

  softmax(x: unknown, rows: number, dim: number): GpuBuf {
    const out = this.alloc(rows * dim);
    this.rowwise('softmax', () => K.softmaxKernel(false), rows, [dim], [x as GpuBuf], [out]);
    return out;
  }

  logSoftmax(x: unknown, rows: number, dim: number): GpuBuf {
    const out = this.alloc(rows * dim);
    this.rowwise('logSoftmax', () => K.softmaxKernel(true), rows, [dim], [x as GpuBuf], [out]);
    return out;
  }

  layerNorm(x: unknown, gamma: unknown, beta: unknown, { rows, dim, eps }: NormArgs) {
    const out = this.alloc(rows * dim);
    const mean = this.alloc(rows);
    const rstd = this.alloc(rows);
    // Without beta, gamma is bound in its place and not read.
    const b = (beta ?? gamma) as GpuBuf;
    this.rowwise('layerNorm', () => K.LAYER_NORM, rows, [dim, f32Bits(eps), beta === null ? 0 : 1], [x as GpuBuf, gamma as GpuBuf, b], [out, mean, rstd]);
    return { out, mean, rstd };
  }

  layerNormBackward(g: unknown, x: unknown, gamma: unknown, mean: unknown, rstd: unknown, { rows, dim, paramGrads = true }: NormArgs) {
    const dx = this.alloc(rows * dim);
    this.rowwise('layerNormDx', () => K.LAYER_NORM_DX, rows, [dim], [g, x, gamma, mean, rstd] as GpuBuf[], [dx]);
    if (!paramGrads) return { dx, dgamma: null, dbeta: null };
    const dgamma = this.alloc(dim);
    const dbeta = this.alloc(dim);
    this.elementwise('layerNormDparams', () => K.LAYER_NORM_DPARAMS, dim, [rows], [g, x, mean, rstd] as GpuBuf[], [dgamma, dbeta]);
    return { dx, dgamma, dbeta };
  }

  rmsNorm(x: unknown, gamma: unknown, { rows, dim, eps }: NormArgs) {
    const out = this.alloc(rows * dim);
    const rstd = this.alloc(rows);
    this.rowwise('rmsNorm', () => K.RMS_NORM, rows, [dim, f32Bits(eps)], [x as GpuBuf, gamma as GpuBuf], [out, rstd]);
    return { out, rstd };
  }

  rmsNormBackward(g: unknown, x: unknown, gamma: unknown, rstd: unknown, { rows, dim, paramGrads = true }: NormArgs) {
    const dx = this.alloc(rows * dim);
    this.rowwise('rmsNormDx', () => K.RMS_NORM_DX, rows, [dim], [g, x, gamma, rstd] as GpuBuf[], [dx]);
    if (!paramGrads) return { dx, dgamma: null };
    const dgamma = this.alloc(dim);
    this.elementwise('rmsNormDgamma', () => K.RMS_NORM_DGAMMA, dim, [rows], [g, x, rstd] as GpuBuf[], [dgamma]);
    return { dx, dgamma };
  }

  rope(x: unknown, cos: unknown, sin: unknown, { shape, rotaryDim, interleaved, inverse, tableBatch }: RopeArgs): GpuBuf {
    const size = sizeOf(shape);
    const d = shape[shape.length - 1]!;
    const t = shape[shape.length - 2]!;
    const out = this.alloc(size);
    const rows = size / d;
    this.elementwise('rope', () => K.ROPE, size, [d, t, rotaryDim, interleaved ? 1 : 0, f32Bits(inverse ? -1 : 1), rows / tableBatch], [x, cos, sin] as GpuBuf[], [out]);
    return out;
  }
}
