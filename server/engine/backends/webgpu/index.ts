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
import { COOP_TILES, coopKey, coopMatmulKernel, coopTileName, defaultCoopTile, GATHER_F16, hasCoopF16, PACK_F16, TRANSPOSE_F16, UNPACK_F16, type CoopForm, type CoopTile } from './half';
import { defaultTile, MatmulTuner, tileCols, tiledKey, tiledMatmulKernel, tileName, tileRows, TILES, type MatmulTile } from './matmul';

interface GpuBuf {
  buffer: GpuHandle;
  /** Bytes asked for (elements x 4). */
  bytes: number;
  /** Pool class: the buffer's real size. */
  capacity: number;
  /** Held in f16 (`holdInF16`): the values packed two to a word here, and `buffer` ended. */
  packed?: GpuBuf;
  /** A matrix held in f16, transposed, kept after its first transposed tensor-core product (a frozen
   * weight's backward reads W^T every step). */
  packedT?: GpuBuf;
}

/** The f16-input matmul kernels: tensor cores (cooperative matrices), the same kernel with its
 * fragment products emulated in scalar code (for checks on adapters without them: ./half.ts), or the
 * tiled fallback. */
export type HalfKernel = 'coop' | 'coop-emulated' | 'tiled';

const DTYPE_CODE: Record<DType, number> = { f32: 0, i32: 1, f16: 2, bf16: 3 };
/** Passes recorded before they are submitted even without a read. */
const MAX_PASSES = 256;
/** Products with fewer multiply-adds take the default tile untimed (timing would cost more than it saves). */
const TUNE_MIN_WORK = 2 ** 28;
/** At most this much GPU memory (LOCUS_WGPU_KEEP_TRANSPOSES_MIB, default 4096) holds kept transposes of f16 weights. */
const KEEP_TRANSPOSES_BYTES = Number(process.env.LOCUS_WGPU_KEEP_TRANSPOSES_MIB ?? 4096) * 2 ** 20;
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
  readonly queued = true;
  private readonly pipelines = new Map<string, GpuHandle>();
  private readonly pool = new Map<number, GpuHandle[]>();
  private live = 0;
  /** Bytes of freed buffers kept for reuse. */
  private pooled = 0;
  /** Bytes of kept f16 transposes (`GpuBuf.packedT`). */
  private transposesKept = 0;
  /** The most bytes held at once (tensors + pool): the backend's peak GPU memory. */
  peakBytes = 0;
  private passes = 0;
  /** After a wait the GPU is idle: the first submit comes after this many passes (doubling up to
   * MAX_PASSES), so it starts while the rest is recorded, not after 256 recordings (~5 ms). */
  firstSubmit = 16;
  private submitAt = this.firstSubmit;
  /** Freed buffers to end at the next submit (the pool was full); counted in `pooled` until then. */
  private readonly doomed: GpuBuf[] = [];
  /** Matmul tiles chosen by timing (see `tileFor`); its log is what the benchmarks print. */
  readonly tuner = new MatmulTuner();
  /** LOCUS_WGPU_TUNE=0 turns timing off (every product takes `defaultTile`); off on CPU-emulated devices. */
  tuning: boolean;
  /** One tile for every tiled product, instead of the chosen one. */
  tileOverride: MatmulTile | undefined;
  /** The same for the f16 kernels: the tiled fallback's tile, the tensor-core kernel's. */
  halfTileOverride: MatmulTile | undefined;
  coopTileOverride: CoopTile | 'tiled' | undefined;
  /** Tuners of the f16 kernels (tiled fallback; tensor cores). */
  readonly halfTuner = new MatmulTuner<MatmulTile>(TILES, tileName);
  /** The tensor-core tiles this backend may use: COOP_TILES, or those LOCUS_WGPU_COOP_TILES names
   * (comma-separated, e.g. "coop128x64k32w64x32"): a driver that cannot compile one would lose the
   * device, so the GPU machine's run.sh (bench/webgpu/pack-parity.sh) checks each in a process of its
   * own first and names those that pass. */
  readonly coopTiles: readonly CoopTile[];
  /** The tensor-core kernel's tuner: its tiles and, for products of packed operands, the tiled
   * fallback at its default tile ('tiled'), which on some shapes is the faster (an odd K, say: the
   * tensor-core kernel then loads its operand a half at a time). */
  readonly coopTuner: MatmulTuner<CoopTile | 'tiled'>;
  /**
   * The precision of `matmul`: 'f32' (exact f32 products, the default), or 'f16': operands rounded
   * to f16 (packed on the fly, or already held in f16 by `holdInF16`), products accumulated in f32,
   * except thin products of f32 operands (see `matmul`). LOCUS_WGPU_MATMUL=f16 sets it. A product
   * with an operand held in f16 takes the f16 kernels whatever this says.
   */
  matmulPrecision: 'f32' | 'f16';
  /** The f16 kernel: tensor cores where the adapter offers 16x16x16 f16 -> f32 cooperative
   * matrices, else the tiled fallback (LOCUS_WGPU_F16_KERNEL=tiled forces it). */
  halfKernel: HalfKernel;
  /**
   * Whether the tensor-core kernel reads f32 operands itself instead of a packing pass before each
   * product (LOCUS_WGPU_COOP_F32=1). Off until a GPU has run it: its kernels pass naga's SPIR-V
   * checks here but have not been compiled by NVIDIA's driver (bench/webgpu/parity.ts checks them).
   */
  coopReadsF32: boolean;
  /**
   * Whether the tensor-core kernel transposes a transposed operand as it stages it instead of a
   * transposing pass before the product (LOCUS_WGPU_COOP_TRANSPOSE=1). Off until a GPU has run it,
   * like `coopReadsF32`; checked here with the emulated kernel.
   */
  coopTransposes: boolean;
  /** Whether the tensor-core kernel reads operands as f16 values (`CoopForm.halfLoads`; LOCUS_WGPU_COOP_HALF_LOADS=1). Off until a GPU has run it. */
  coopHalfLoads: boolean;

  constructor(readonly driver: GpuDriver) {
    // Timings of a Vulkan device emulated on the CPU (Mesa's llvmpipe) say nothing about a GPU.
    this.tuning = process.env.LOCUS_WGPU_TUNE !== '0' && !/llvmpipe/i.test(driver.info.adapter);
    this.matmulPrecision = process.env.LOCUS_WGPU_MATMUL === 'f16' ? 'f16' : 'f32';
    this.coopReadsF32 = process.env.LOCUS_WGPU_COOP_F32 === '1';
    this.coopTransposes = process.env.LOCUS_WGPU_COOP_TRANSPOSE === '1';
    this.coopHalfLoads = process.env.LOCUS_WGPU_COOP_HALF_LOADS === '1';
    const named = process.env.LOCUS_WGPU_COOP_TILES?.split(',').map((t) => t.trim());
    this.coopTiles = named ? COOP_TILES.filter((t) => named.includes(coopTileName(t))) : COOP_TILES;
    this.coopTuner = new MatmulTuner<CoopTile | 'tiled'>([...this.coopTiles, 'tiled'], (t) => (t === 'tiled' ? 'tiled' : coopTileName(t)));
    const coop = hasCoopF16(driver.info.features, driver.info.cooperativeMatrices) && this.coopTiles.length > 0;
    const asked = process.env.LOCUS_WGPU_F16_KERNEL;
    // the emulated kernel stages f16 arrays: it needs shader-f16, not cooperative matrices
    if (asked === 'coop-emulated' && driver.info.features.includes('SHADER_F16')) this.halfKernel = 'coop-emulated';
    else this.halfKernel = coop && asked !== 'tiled' ? 'coop' : 'tiled';
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
    const expanded = items.map(({ data }) => this.f32Of(data as GpuBuf));
    this.waited();
    const all = await this.driver.read(expanded.map((b) => b.buffer), bytes);
    this.endDoomed(); // the read submitted everything recorded
    expanded.forEach((b, i) => b !== items[i]!.data && this.free(b));
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
    const buf = this.f32Of(data as GpuBuf);
    this.waited();
    const all = this.driver.readSync([buf.buffer], bytes);
    this.endDoomed();
    if (buf !== data) this.free(buf);
    return this.unpack([{ dtype, size }], bytes, all)[0];
  }

  free(data: unknown): void {
    const buf = data as GpuBuf;
    if (buf?.packed) {
      this.free(buf.packed);
      buf.packed = undefined;
      if (buf.packedT) {
        this.transposesKept -= buf.packedT.capacity;
        this.free(buf.packedT);
        buf.packedT = undefined;
      }
      return;
    }
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
    this.submitAt = Math.min(MAX_PASSES, this.submitAt * 2);
    this.endDoomed();
  }

  /** What follows a wait for the GPU (it is idle now). */
  private waited(): void {
    this.passes = 0;
    this.submitAt = this.firstSubmit;
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
    this.waited();
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
    return this.timed(this.tuner, this.shapeClass(m, n, k, batch, transA, transB), m * n * k * batch, dispatch, () => defaultTile(m, n, batch));
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
    // inputs held in f16 are widened for this kernel into buffers freed after it (the queue runs in order)
    const bound = buffers.some((b) => b.packed) ? buffers.map((b) => this.f32Of(b)) : buffers;
    const params = Uint32Array.from(prm, (v) => v >>> 0);
    this.driver.dispatch(this.pipeline(key, code), params, bound.map((b) => b.buffer), groups);
    this.profiled?.push(key);
    if (++this.passes >= this.submitAt) this.flush();
    if (bound !== buffers) bound.forEach((b, i) => b !== buffers[i] && this.free(b));
  }

  // ---- f16 -----------------------------------------------------------------------------------

  /** Kernel keys of the dispatches recorded while profiling (`profile`), in order. */
  private profiled: string[] | undefined;

  /**
   * Runs `work` with every dispatch timed on the GPU (timestamp queries; wgpu only): GPU seconds
   * and calls per kernel key, matmuls by their shape. The work's own timing is not representative
   * (each dispatch gets a pass of its own and each submit waits for its timestamps).
   */
  async profile(work: () => Promise<void>): Promise<Map<string, { calls: number; seconds: number }>> {
    if (!this.driver.setProfiling || !this.driver.takeProfile) throw new EngineError('webgpu', 'this driver cannot profile');
    this.flush();
    this.profiled = [];
    this.driver.setProfiling(true);
    try {
      await work();
      this.flush();
      const ns = this.driver.takeProfile();
      const out = new Map<string, { calls: number; seconds: number }>();
      this.profiled.forEach((key, i) => {
        const entry = out.get(key) ?? { calls: 0, seconds: 0 };
        entry.calls++;
        entry.seconds += (ns[i] ?? 0) / 1e9;
        out.set(key, entry);
      });
      return out;
    } finally {
      this.driver.setProfiling(false);
      this.profiled = undefined;
    }
  }

  /** `buf` itself, or, when it is held in f16, a new f32 buffer of its values (the caller frees it). */
  private f32Of(buf: GpuBuf): GpuBuf {
    if (!buf.packed) return buf;
    const n = buf.bytes / 4;
    const out = this.alloc(n);
    this.run('unpackF16', () => UNPACK_F16, [n], [buf.packed, out], this.grid(n));
    return out;
  }

  /**
   * The transpose of a product's f16 operand `p` (of the tensor `g`): for one matrix held in f16, kept
   * with it while KEEP_TRANSPOSES_BYTES allows (`kept`: the caller must not free it); else a new one.
   */
  private transposedOperand(g: GpuBuf, p: GpuBuf, count: number, rows: number, cols: number): { t: GpuBuf; kept: boolean } {
    if (g.packedT) return { t: g.packedT, kept: true };
    const t = this.transposeF16(p, count, rows, cols);
    if (g.packed !== p || count !== 1 || this.transposesKept + t.capacity > KEEP_TRANSPOSES_BYTES) return { t, kept: false };
    this.transposesKept += t.capacity;
    g.packedT = t;
    return { t, kept: true };
  }

  /** `count` packed f16 matrices [rows, cols] in `x`, transposed into a new packed buffer. */
  private transposeF16(x: GpuBuf, count: number, rows: number, cols: number): GpuBuf {
    const n = count * rows * cols;
    const words = Math.ceil(n / 2);
    const out = this.alloc(words);
    this.run('transposeF16', () => TRANSPOSE_F16, [n, rows, cols], [x, out], this.grid(words));
    return out;
  }

  /** A tensor held in f16 (`holdInF16`) of `count` [rows, cols] matrices, as a new tensor held in f16
   * of the [cols, rows] transposes: the tensor-core product's transposes, for the tests. */
  transposeHeldF16(data: unknown, count: number, rows: number, cols: number): unknown {
    const buf = data as GpuBuf;
    if (!buf.packed) throw new EngineError('webgpu', 'transposeHeldF16 of a tensor not held in f16');
    const packed = this.transposeF16(buf.packed, count, rows, cols);
    return { buffer: undefined, bytes: count * rows * cols * 4, capacity: 0, packed } as unknown as GpuBuf;
  }

  /** `x`'s `n` values rounded to f16 and packed two to a word (a new buffer). */
  private pack(x: GpuBuf, n: number): GpuBuf {
    if (x.packed) throw new EngineError('webgpu', 'pack of a buffer already held in f16');
    const words = Math.ceil(n / 2);
    const out = this.alloc(words);
    this.run('packF16', () => PACK_F16, [n], [x, out], this.grid(words));
    return out;
  }

  /**
   * Holds a tensor's values in f16 on the GPU from now on: half the memory. Its f32 buffer is
   * released; matmuls read the f16 values directly (with f32 accumulation), other kernels get them
   * widened to f32 on the fly, gathers (embeddings) read them in place. The values are rounded to
   * f16 once, here. For weights: the engine's ops see no difference but the rounding.
   */
  holdInF16(data: unknown): void {
    const buf = data as GpuBuf;
    if (buf.packed) return;
    const packed = this.pack(buf, buf.bytes / 4);
    // the f32 buffer goes back to the pool (or is ended after the next submit); the GpuBuf stays
    // the tensor's handle, now pointing at the packed copy
    this.free({ buffer: buf.buffer, bytes: buf.bytes, capacity: buf.capacity });
    buf.buffer = undefined;
    buf.packed = packed;
  }

  /** Whether a tensor's values are held in f16 (`holdInF16`). */
  isHeldInF16(data: unknown): boolean {
    return (data as GpuBuf).packed !== undefined;
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
    // same shapes, biases, per-row factors: one index expression instead of a walk over the dims
    const [fa, fb] = [K.operandMode(sa, shape), K.operandMode(sb, shape)];
    if (fa && fb) {
      this.elementwise(`binary:${op}:${fa.mode}:${fb.mode}`, () => K.binaryFastKernel(op, fa.mode, fb.mode), size, [fa.p, fb.p], [a as GpuBuf, b as GpuBuf], [out]);
      return out;
    }
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
    const view = K.reduceView(shape, axes);
    if (view && view.i > 1 && view.o <= 65535) {
      this.run(`reduceColumns:${op}`, () => K.reduceColumnsKernel(op), [view.o, view.r, view.i], [x as GpuBuf, out], [Math.ceil(view.i / 32), view.o, 1]);
      return out;
    }
    if (view && view.i === 1) {
      const x0 = Math.min(view.o, 65535);
      this.run(`reduceRows:${op}`, () => K.reduceRowsKernel(op), [view.o, view.r], [x as GpuBuf, out], [x0, Math.ceil(view.o / x0), 1]);
      return out;
    }
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
    const [ga, gb] = [a as GpuBuf, b as GpuBuf];
    // Under f16 precision a thin product of f32 operands (fewer than 64 rows or columns: attention per
    // head in ROME's v* step) stays f32: the tensor-core tiles are 64 wide at least, and packing (and
    // transposing) both operands costs more passes than the product saves.
    const thin = m < 64 || n < 64;
    if ((this.matmulPrecision === 'f16' && !thin) || ga.packed || gb.packed) {
      // f16 operands: held ones as they are; with coopReadsF32 an f32 one the tensor-core kernel reads as
      // it is (rounded to f16 as it stages it) unless transposed by a pass; others packed for this
      // product and freed after it
      const direct = (g: GpuBuf, trans: boolean) => this.halfKernel !== 'tiled' && this.coopReadsF32 && !g.packed && (!trans || this.coopTransposes);
      const f32 = [direct(ga, transA), direct(gb, transB)] as const;
      const pa = ga.packed ?? (f32[0] ? ga : this.pack(ga, ga.bytes / 4));
      const pb = gb.packed ?? (f32[1] ? gb : this.pack(gb, gb.bytes / 4));
      const counts = [sizeOf(aShape.slice(0, -2)), sizeOf(bShape.slice(0, -2))] as const;
      this.halfMatmul(pa, pb, out, prm, { m, n, k, batch, transA, transB, aBatch, bBatch, counts, tensors: [ga, gb], f32 });
      if (pa !== ga.packed && pa !== ga) this.free(pa);
      if (pb !== gb.packed && pb !== gb) this.free(pb);
      return out;
    }
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

  /**
   * An f16-input product into `out`: the tensor-core kernel where the adapter has it (tile timed
   * per shape class like the f32 ones), else the tiled fallback reading packed f16.
   */
  private halfMatmul(
    pa: GpuBuf,
    pb: GpuBuf,
    out: GpuBuf,
    prm: number[],
    s: { m: number; n: number; k: number; batch: number; transA: boolean; transB: boolean; aBatch: number[]; bBatch: number[]; counts: readonly [number, number]; tensors: readonly [GpuBuf, GpuBuf]; f32: readonly [boolean, boolean] },
  ): void {
    const { m, n, k, batch, transA, transB } = s;
    // the tiled fallback reads packed operands as they are, transposed or not (not f32 ones)
    const packedOnly = !s.f32[0] && !s.f32[1];
    const tiled = (t: MatmulTile) => {
      if (!packedOnly) throw new EngineError('webgpu', 'the tiled f16 kernel reads packed operands only');
      this.run(tiledKey(t, transA, transB, true), () => tiledMatmulKernel(t, transA, transB, true), prm, [pa, pb, out], [Math.ceil(n / tileCols(t)), Math.ceil(m / tileRows(t)), batch]);
    };
    if (this.halfKernel !== 'tiled') {
      // a transposed operand: transposed by the kernel as it stages it (coopTransposes), or first, by a
      // pass into a buffer freed after the product (the queue runs in order) unless a held weight
      // keeps it; made when a tensor-core tile first needs it
      const inKernel = this.coopTransposes;
      let rowMajor: { a: GpuBuf; b: GpuBuf } | undefined;
      const temporary: GpuBuf[] = []; // transposes to free after the product
      const operands = () => {
        if (rowMajor) return rowMajor;
        const ta = transA && !inKernel ? this.transposedOperand(s.tensors[0], pa, s.counts[0], k, m) : { t: pa, kept: true };
        const tb = transB && !inKernel ? this.transposedOperand(s.tensors[1], pb, s.counts[1], n, k) : { t: pb, kept: true };
        for (const x of [ta, tb]) if (!x.kept) temporary.push(x.t);
        return (rowMajor = { a: ta.t, b: tb.t });
      };
      // 16-byte loads where every contiguous run (and batch offset) starts on an 8-half boundary
      const aligned = (extent: number, strides: number[]) => extent % 8 === 0 && strides.every((v) => v % 8 === 0);
      const form: CoopForm = {
        vecA: aligned(transA && inKernel ? m : k, s.aBatch),
        vecB: aligned(transB && inKernel ? k : n, s.bBatch),
        f32A: s.f32[0],
        f32B: s.f32[1],
        transA: transA && inKernel,
        transB: transB && inKernel,
        halfLoads: this.coopHalfLoads,
      };
      const emulated = this.halfKernel === 'coop-emulated';
      const dispatch = (t: CoopTile | 'tiled') => {
        if (t === 'tiled') return tiled(defaultTile(m, n, batch));
        const { a, b } = operands();
        this.run(coopKey(t, form, emulated), () => coopMatmulKernel(t, form, emulated), prm, [a, b, out], [Math.ceil(n / t.bn), Math.ceil(m / t.bm), batch]);
      };
      const shape = `coop ${this.shapeClass(m, n, k, batch, form.transA!, form.transB!)}${packedOnly ? '' : ' f32'}`;
      const tile =
        this.coopTileOverride ??
        this.timed(this.coopTuner, shape, m * n * k * batch, dispatch, () => defaultCoopTile(m, n, batch, undefined, this.coopTiles), (t) => packedOnly || t !== 'tiled');
      dispatch(tile);
      temporary.forEach((t) => this.free(t));
      return;
    }
    const tile = this.halfTileOverride ?? this.timed(this.halfTuner, `f16 ${this.shapeClass(m, n, k, batch, transA, transB)}`, m * n * k * batch, tiled, () => defaultTile(m, n, batch));
    tiled(tile);
  }

  /** One timing per shape class (each size rounded up to a power of two): a product over a
   * different number of tokens each batch must not be timed again each time. */
  private shapeClass(m: number, n: number, k: number, batch: number, transA: boolean, transB: boolean): string {
    const up = (v: number) => 2 ** Math.ceil(Math.log2(v));
    return `${up(m)}x${up(n)}x${up(k)} batch ${up(batch)} transA=${transA} transB=${transB}`;
  }

  /** The tuner's choice for a shape class where timing is on and worth it, else `fallback()`. */
  private timed<T>(tuner: MatmulTuner<T>, shape: string, work: number, dispatch: (t: T) => void, fallback: () => T, allowed?: (t: T) => boolean): T {
    const finish = this.driver.finishSync?.bind(this.driver);
    if (!this.tuning || !finish || work < TUNE_MIN_WORK) return fallback();
    return tuner.choose(shape, (tile) => {
      this.flush();
      finish();
      const started = performance.now();
      dispatch(tile);
      this.flush();
      finish();
      return (performance.now() - started) / 1000;
    }, allowed);
  }

  /** out[i] = x[base + idx . strides] over `shape`: permute and slice. */
  private strided(x: GpuBuf, fullShape: readonly number[], fullStrides: readonly number[], base: number): GpuBuf {
    const size = sizeOf(fullShape);
    const out = this.alloc(size);
    const { shape, strides } = K.collapseStrided(fullShape, fullStrides);
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
    const box = K.collapsePad(shape, starts, sizes);
    this.elementwise('pad', () => K.PAD, size, [box.shape.length, ...box.shape, ...box.starts, ...box.sizes], [x as GpuBuf], [out]);
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
    const held = (x as GpuBuf).packed;
    if (held) this.elementwise('gatherF16', () => GATHER_F16, size, [count, dim, inner], [held, indices as GpuBuf], [out]);
    else this.elementwise('gather', () => K.GATHER, size, [count, dim, inner], [x as GpuBuf, indices as GpuBuf], [out]);
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
