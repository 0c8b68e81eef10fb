/// <reference types="@webgpu/types" />
/**
 * The WebGPU backend (issue 5): the Backend kernel table on a GPUDevice, in Node through Dawn
 * (./dawn.ts). Kernels are WGSL (./kernels.ts), checked op by op against the CPU backend on the GPU
 * machine (bench/webgpu/parity.ts).
 *
 * Dispatch stays synchronous, as the engine wants: each kernel is recorded into one open command
 * encoder, which is submitted only when something is read back (or after many passes). Submitting
 * every kernel on its own queued enough submits to crash Dawn on the GPU machine's VM
 * (bench/webgpu/README.md). Buffers come from a pool keyed by size; a freed buffer may be reused by
 * a later kernel of the same encoder, which is safe because the queue runs passes in order. Uploads
 * write fresh buffers mapped at creation, never a pooled one that recorded work may still read.
 */
import type { Backend, BinaryOp, MatmulArgs, NormArgs, ReduceOp, RopeArgs, UnaryOp } from '../../backend';
import { fromF32, toF32, type AnyTypedArray, type DType } from '../../dtype';
import { EngineError } from '../../errors';
import { broadcastStrides, sizeOf, stridesOf, type Shape } from '../../shape';
import * as K from './kernels';

interface GpuBuf {
  buffer: GPUBuffer;
  /** Bytes asked for (elements x 4). */
  bytes: number;
  /** Pool class: the buffer's real size. */
  capacity: number;
}

const DTYPE_CODE: Record<DType, number> = { f32: 0, i32: 1, f16: 2, bf16: 3 };
/** Passes recorded before the encoder is submitted even without a read. */
const MAX_PASSES = 256;

const f32Bits = (v: number) => new Uint32Array(new Float32Array([v]).buffer)[0]!;

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu';
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly pool = new Map<number, GPUBuffer[]>();
  private live = 0;
  private encoder: GPUCommandEncoder | null = null;
  private passes = 0;
  /** Parameter buffers of recorded passes, destroyed once their encoder is submitted. */
  private spent: GPUBuffer[] = [];
  /** LOCUS_WGPU_HOLD=1: every GPU object stays referenced (a test of whether Dawn's crashes follow garbage collection). */
  private readonly held: unknown[] | null = process.env.LOCUS_WGPU_HOLD === '1' ? [] : null;

  constructor(readonly device: GPUDevice) {}

  // ---- buffers -------------------------------------------------------------------------------

  private alloc(elements: number): GpuBuf {
    const bytes = Math.max(4, elements * 4);
    const capacity = Math.ceil(bytes / 256) * 256;
    const pooled = this.pool.get(capacity)?.pop();
    const buffer =
      pooled ??
      this.device.createBuffer({ size: capacity, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    this.live += capacity;
    return { buffer, bytes, capacity };
  }

  private withData(words: Uint32Array | Int32Array | Float32Array): GpuBuf {
    const bytes = Math.max(4, words.byteLength);
    const capacity = Math.ceil(bytes / 256) * 256;
    const buffer = this.device.createBuffer({
      size: capacity,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      mappedAtCreation: true,
    });
    new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(words.buffer, words.byteOffset, words.byteLength));
    buffer.unmap();
    this.live += capacity;
    return { buffer, bytes, capacity };
  }

  upload(values: AnyTypedArray, dtype: DType): GpuBuf {
    // f16 and bf16 are held widened to f32 (see kernels.ts)
    const words = dtype === 'f32' || dtype === 'i32' ? (values as Float32Array | Int32Array) : toF32(values, dtype);
    return this.withData(words);
  }

  read(data: unknown, dtype: DType, size: number): Promise<AnyTypedArray> {
    return this.readMany([{ data, dtype, size }]).then(([values]) => values!);
  }

  /**
   * Several buffers in one readback: one copy each into one staging buffer, one submit, one map.
   * Each wait for the GPU is a chance for the GPU machine's Dawn to fail (bench/webgpu/README.md),
   * so batch reads where a caller can.
   */
  async readMany(items: readonly { data: unknown; dtype: DType; size: number }[]): Promise<AnyTypedArray[]> {
    const offsets: number[] = [];
    let total = 0;
    for (const { size } of items) {
      offsets.push(total);
      total += Math.max(4, size * 4);
    }
    const staging = this.device.createBuffer({ size: Math.max(4, total), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = this.open();
    items.forEach(({ data, size }, i) => encoder.copyBufferToBuffer((data as GpuBuf).buffer, 0, staging, offsets[i]!, Math.max(4, size * 4)));
    this.flush();
    // LOCUS_WGPU_WAIT_DONE=1: wait for the queue before mapping (a test against stalled maps on the GPU machine)
    if (process.env.LOCUS_WGPU_WAIT_DONE === '1') await this.device.queue.onSubmittedWorkDone();
    await staging.mapAsync(GPUMapMode.READ);
    const mapped = staging.getMappedRange();
    const out = items.map(({ dtype, size }, i) => {
      const copy = mapped.slice(offsets[i]!, offsets[i]! + size * 4);
      if (dtype === 'i32') return new Int32Array(copy);
      const f = new Float32Array(copy);
      return dtype === 'f32' ? f : fromF32(f, dtype);
    });
    staging.unmap();
    if (this.held) this.held.push(staging);
    else staging.destroy();
    return out;
  }

  readSync(): undefined {
    return undefined;
  }

  free(data: unknown): void {
    const buf = data as GpuBuf;
    if (!buf?.buffer) return;
    this.live -= buf.capacity;
    let list = this.pool.get(buf.capacity);
    if (!list) this.pool.set(buf.capacity, (list = []));
    list.push(buf.buffer);
  }

  bytesInUse(): number {
    return this.live;
  }

  /** Submits what is recorded. Reads call it; so does a long run of kernels without a read. */
  flush(): void {
    if (!this.encoder) return;
    const commands = this.encoder.finish();
    this.held?.push(this.encoder, commands);
    this.device.queue.submit([commands]);
    this.encoder = null;
    this.passes = 0;
    if (!this.held) for (const b of this.spent) b.destroy();
    this.spent = [];
  }

  /** Frees the pooled buffers and compiled pipelines (the device stays). */
  dispose(): void {
    this.flush();
    for (const list of this.pool.values()) for (const b of list) b.destroy();
    this.pool.clear();
    this.pipelines.clear();
  }

  // ---- dispatch ------------------------------------------------------------------------------

  private open(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  /** Compiles every kernel ahead (asynchronously, all at once), instead of on first use. */
  async warm(): Promise<void> {
    const pending = K.allKernels()
      .filter(([key]) => !this.pipelines.has(key))
      .map(async ([key, code]) => {
        this.pipelines.set(key, await this.device.createComputePipelineAsync(this.describe(code)));
      });
    await Promise.all(pending);
  }

  private describe(code: string): GPUComputePipelineDescriptor {
    return { layout: 'auto', compute: { module: this.device.createShaderModule({ code }), entryPoint: 'main' } };
  }

  private pipeline(key: string, code: () => string): GPUComputePipeline {
    let p = this.pipelines.get(key);
    if (!p) {
      p = this.device.createComputePipeline(this.describe(code()));
      this.pipelines.set(key, p);
    }
    return p;
  }

  /** Records one kernel: parameters, then the buffers in binding order (1..n), on a grid of workgroups. */
  private run(key: string, code: () => string, prm: number[], buffers: GpuBuf[], groups: [number, number, number]): void {
    const pipeline = this.pipeline(key, code);
    const params = this.withData(Uint32Array.from(prm, (v) => v >>> 0));
    this.live -= params.capacity; // not a tensor
    this.spent.push(params.buffer);
    const entries = [params, ...buffers].map((b, binding) => ({ binding, resource: { buffer: b.buffer } }));
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const pass = this.open().beginComputePass();
    this.held?.push(bindGroup, pass, params.buffer);
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(...groups);
    pass.end();
    if (++this.passes >= MAX_PASSES) this.flush();
  }

  /** Workgroups for one invocation per element, as a 2-D grid when there are more than 65535. */
  private grid(n: number): [number, number, number] {
    const groups = Math.max(1, Math.ceil(n / K.WG));
    const x = Math.min(groups, 65535);
    return [x, Math.ceil(groups / x), 1];
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
    this.run('matmul', () => K.MATMUL, [m, n, k, transA ? 1 : 0, transB ? 1 : 0, batchShape.length, ...batchShape, ...aBatch, ...bBatch], [a as GpuBuf, b as GpuBuf, out], [
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
    this.elementwise('softmax', () => K.softmaxKernel(false), rows, [dim], [x as GpuBuf], [out]);
    return out;
  }

  logSoftmax(x: unknown, rows: number, dim: number): GpuBuf {
    const out = this.alloc(rows * dim);
    this.elementwise('logSoftmax', () => K.softmaxKernel(true), rows, [dim], [x as GpuBuf], [out]);
    return out;
  }

  layerNorm(x: unknown, gamma: unknown, beta: unknown, { rows, dim, eps }: NormArgs) {
    const out = this.alloc(rows * dim);
    const mean = this.alloc(rows);
    const rstd = this.alloc(rows);
    // Without beta, gamma is bound in its place and not read.
    const b = (beta ?? gamma) as GpuBuf;
    this.elementwise('layerNorm', () => K.LAYER_NORM, rows, [dim, f32Bits(eps), beta === null ? 0 : 1], [x as GpuBuf, gamma as GpuBuf, b], [out, mean, rstd]);
    return { out, mean, rstd };
  }

  layerNormBackward(g: unknown, x: unknown, gamma: unknown, mean: unknown, rstd: unknown, { rows, dim }: NormArgs) {
    const dx = this.alloc(rows * dim);
    const dgamma = this.alloc(dim);
    const dbeta = this.alloc(dim);
    this.elementwise('layerNormDx', () => K.LAYER_NORM_DX, rows, [dim], [g, x, gamma, mean, rstd] as GpuBuf[], [dx]);
    this.elementwise('layerNormDparams', () => K.LAYER_NORM_DPARAMS, dim, [rows], [g, x, mean, rstd] as GpuBuf[], [dgamma, dbeta]);
    return { dx, dgamma, dbeta };
  }

  rmsNorm(x: unknown, gamma: unknown, { rows, dim, eps }: NormArgs) {
    const out = this.alloc(rows * dim);
    const rstd = this.alloc(rows);
    this.elementwise('rmsNorm', () => K.RMS_NORM, rows, [dim, f32Bits(eps)], [x as GpuBuf, gamma as GpuBuf], [out, rstd]);
    return { out, rstd };
  }

  rmsNormBackward(g: unknown, x: unknown, gamma: unknown, rstd: unknown, { rows, dim }: NormArgs) {
    const dx = this.alloc(rows * dim);
    const dgamma = this.alloc(dim);
    this.elementwise('rmsNormDx', () => K.RMS_NORM_DX, rows, [dim], [g, x, gamma, rstd] as GpuBuf[], [dx]);
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
