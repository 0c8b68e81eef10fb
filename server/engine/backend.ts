import type { AnyTypedArray, DType } from './dtype';
import type { Shape } from './shape';

/**
 * The kernel table every backend implements (CPU now, WebGPU in its own issue). Kernels are
 * synchronous to dispatch and work on contiguous row-major buffers; only `read` may wait (a GPU
 * readback). Kernels never allocate autograd state: ops (server/engine/ops) compose them and own
 * the backward rules, so a backend is only arithmetic. Inputs are f32 unless a kernel says
 * otherwise (`cast`, `gather` and `upload` see the storage dtypes).
 */
export type BackendData = unknown;

export type UnaryOp =
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'abs' | 'sign' | 'square' | 'reciprocal'
  | 'tanh' | 'erf' | 'sigmoid' | 'relu' | 'step'
  | 'geluTanh' | 'geluErf' | 'silu'
  // derivatives of the activations, so their backward is one kernel
  | 'geluTanhGrad' | 'geluErfGrad' | 'siluGrad';

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'greater' | 'equal';

export type ReduceOp = 'sum' | 'max' | 'min';

export interface MatmulArgs {
  aShape: Shape; // [...batch, M, K] (or [..., K, M] when transA)
  bShape: Shape; // [...batch, K, N] (or [..., N, K] when transB)
  transA: boolean;
  transB: boolean;
  outShape: Shape; // [...broadcast batch, M, N]
}

export interface NormArgs {
  rows: number;
  dim: number;
  eps: number;
  /** Backward only: whether gamma's (and beta's) gradients are wanted; false returns null for them. Default true. */
  paramGrads?: boolean;
}

export interface RopeArgs {
  /** x is [...lead, T, D]; the first `rotaryDim` features of D are rotated. */
  shape: Shape;
  rotaryDim: number;
  /** GPT-J rotates pairs (0,1),(2,3)...; NeoX and Llama rotate halves (i, i + rotaryDim/2). */
  interleaved: boolean;
  /** Rotate by -theta (the backward of a rotation is its inverse). */
  inverse: boolean;
  /** 1: one table [T, rotaryDim/2] for all rows; B: tables [B, T, rotaryDim/2] for x [B, ..., T, D]
   * (per-sequence positions, as left-padded batches need). */
  tableBatch: number;
}

export interface Backend {
  readonly name: string;
  /**
   * Kernels go to a device queue and run while the host records more (GPU backends): a read waits
   * for everything recorded before it, so loops that read each step should record as much as they
   * can before reading. Absent: every kernel has run when its call returns (CPU).
   */
  readonly queued?: boolean;
  /** Holds a tensor's values in f16 from now on (half the memory; products read them as f16), where
   * the backend can (WebGPU). */
  holdInF16?(data: BackendData): void;

  upload(values: AnyTypedArray, dtype: DType): BackendData;
  read(data: BackendData, dtype: DType, size: number): Promise<AnyTypedArray>;
  /** Synchronous read where the backend can (CPU); GPU backends return undefined. */
  readSync(data: BackendData, dtype: DType, size: number): AnyTypedArray | undefined;
  free(data: BackendData): void;
  /** Bytes the backend holds live (for memory reports and leak tests). */
  bytesInUse(): number;
  /**
   * Device memory high-water mark since the last `resetPeak` (GPU backends: tensors and the buffer
   * pool, what the device really holds); absent where the backend does not track it (CPU).
   */
  readonly peakBytes?: number;
  resetPeak?(): void;

  fill(size: number, value: number, dtype: DType): BackendData;
  cast(x: BackendData, size: number, from: DType, to: DType): BackendData;

  unary(op: UnaryOp, x: BackendData, size: number): BackendData;
  /** y = x * scale + shift, the scalar arithmetic every op needs. */
  affine(x: BackendData, size: number, scale: number, shift: number): BackendData;
  clamp(x: BackendData, size: number, lo: number, hi: number): BackendData;
  binary(op: BinaryOp, a: BackendData, aShape: Shape, b: BackendData, bShape: Shape, outShape: Shape): BackendData;
  /** where(cond != 0, a, b), all three of the output's shape. */
  where(cond: BackendData, a: BackendData, b: BackendData, size: number): BackendData;

  /** Reduces the given axes, keeping them as size 1. */
  reduce(op: ReduceOp, x: BackendData, shape: Shape, axes: readonly number[]): BackendData;
  /** Index of the maximum along the last axis, as i32. */
  argmax(x: BackendData, rows: number, dim: number): BackendData;

  matmul(a: BackendData, b: BackendData, args: MatmulArgs): BackendData;

  permute(x: BackendData, shape: Shape, perm: readonly number[]): BackendData;
  /** Copies the box starting at `starts` of extent `sizes`. */
  slice(x: BackendData, shape: Shape, starts: readonly number[], sizes: readonly number[]): BackendData;
  /** Zeros of `shape` with `x` (of extent `sizes`) written at `starts`: the backward of slice. */
  pad(x: BackendData, sizes: readonly number[], shape: Shape, starts: readonly number[]): BackendData;
  concat(xs: readonly BackendData[], shapes: readonly Shape[], axis: number): BackendData;

  /** out[..., j, ...] = x[..., indices[j], ...] along `axis`; x may be f32, f16, bf16 or i32 and
   * the output has x's dtype. indices are i32. */
  gather(x: BackendData, shape: Shape, dtype: DType, indices: BackendData, count: number, axis: number): BackendData;
  /** Zeros of `shape`, then out[..., indices[j], ...] += g[..., j, ...]: the backward of gather. */
  scatterAdd(g: BackendData, indices: BackendData, count: number, shape: Shape, axis: number): BackendData;
  /** out[r] = x[r, indices[r]] for x [rows, dim]: picking the target's log-probability. */
  takeAlongLast(x: BackendData, indices: BackendData, rows: number, dim: number): BackendData;
  /** Zeros [rows, dim] with out[r, indices[r]] = g[r]: the backward of takeAlongLast. */
  putAlongLast(g: BackendData, indices: BackendData, rows: number, dim: number): BackendData;

  softmax(x: BackendData, rows: number, dim: number): BackendData;
  logSoftmax(x: BackendData, rows: number, dim: number): BackendData;

  /** LayerNorm over the last axis; returns the output, and per row the mean and 1/std for backward. */
  layerNorm(x: BackendData, gamma: BackendData, beta: BackendData | null, args: NormArgs): {
    out: BackendData;
    mean: BackendData;
    rstd: BackendData;
  };
  layerNormBackward(g: BackendData, x: BackendData, gamma: BackendData, mean: BackendData, rstd: BackendData, args: NormArgs): {
    dx: BackendData;
    dgamma: BackendData | null;
    dbeta: BackendData | null;
  };
  rmsNorm(x: BackendData, gamma: BackendData, args: NormArgs): { out: BackendData; rstd: BackendData };
  rmsNormBackward(g: BackendData, x: BackendData, gamma: BackendData, rstd: BackendData, args: NormArgs): {
    dx: BackendData;
    dgamma: BackendData | null;
  };

  /** Rotary position embedding with per-position tables cos/sin of shape [T, rotaryDim/2]. */
  rope(x: BackendData, cos: BackendData, sin: BackendData, args: RopeArgs): BackendData;
}
