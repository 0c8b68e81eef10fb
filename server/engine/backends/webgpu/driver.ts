/**
 * What the WebGPU backend needs from a GPU: storage buffers, WGSL compute pipelines, dispatches
 * recorded in order, and reads. Two drivers implement it: wgpu through our own Node addon
 * (./native.ts, the default) and Dawn's Node binding (./dawn.ts). Handles are opaque; the backend
 * ends every buffer it makes explicitly.
 */
export type GpuHandle = unknown;

export interface WebGpuInfo {
  driver: 'wgpu' | 'dawn';
  adapter: string;
  features: string[];
  /** Cooperative-matrix shapes the adapter offers (tensor cores), e.g. "16x16x16 F16->F32". */
  cooperativeMatrices: string[];
  maxBufferBytes: number;
  maxBindingBytes: number;
}

export interface GpuDriver {
  readonly info: WebGpuInfo;
  /** A zero-filled storage buffer; throws with the size asked and the limit when it cannot be made. */
  createBuffer(bytes: number): GpuHandle;
  /** A new storage buffer of `capacity` bytes starting with `data`. */
  upload(data: Uint8Array, capacity: number): GpuHandle;
  /** Writes `data` at the start of a buffer before the next submit, after every earlier one. */
  write(buffer: GpuHandle, data: Uint8Array): void;
  destroy(buffer: GpuHandle): void;
  /** A compute pipeline from WGSL (entry point `main`, bind group 0); throws the compiler's message. */
  compile(code: string): GpuHandle;
  /** Records a dispatch: `params` bound at 0 as a read-only storage array of u32, `buffers` at 1..n. */
  dispatch(pipeline: GpuHandle, params: Uint32Array, buffers: readonly GpuHandle[], groups: readonly [number, number, number]): void;
  /** Sends what is recorded to the GPU. */
  submit(): void;
  /** The first `bytes[i]` bytes of each buffer, concatenated, after everything recorded has run. */
  read(buffers: readonly GpuHandle[], bytes: readonly number[]): Promise<ArrayBuffer>;
  /** `read` without a promise, where the driver can wait for the GPU in place (wgpu can; Dawn cannot):
   * what lets the engine's synchronous reads (`valuesSync`, used by the editing methods) run on it. */
  readSync?(buffers: readonly GpuHandle[], bytes: readonly number[]): ArrayBuffer;
  /** Waits for the GPU to finish what was submitted (for timing). */
  finish(): Promise<void>;
  /** `finish` in place, where the driver can (wgpu): what lets the backend time matmul tiles mid-run. */
  finishSync?(): void;
  /** Profiling (wgpu, with timestamp queries): each dispatch timed on the GPU while on. */
  setProfiling?(on: boolean): void;
  /** GPU nanoseconds of each dispatch recorded with profiling on, in order, since the last call. */
  takeProfile?(): number[];
}

export class NoWebGpuError extends Error {
  override name = 'NoWebGpuError';
}
