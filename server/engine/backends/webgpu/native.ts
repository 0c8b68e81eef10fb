/**
 * The default GPU driver: wgpu (Vulkan) through our own Node addon (./native, Rust + napi-rs), built
 * by `npm run build:wgpu` into native/locus-wgpu.node. Every object is a numbered handle ended
 * explicitly, every call synchronous: nothing depends on the garbage collector or on promise
 * polling, which is where Dawn's Node binding broke on the GPU machine (bench/webgpu/README.md).
 * On the dev machine it runs on Mesa's lavapipe (Vulkan on the CPU), so the kernels are tested in CI.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NoWebGpuError, type GpuDriver, type WebGpuInfo } from './driver';

interface NativeGpu {
  info(): { adapter: string; backend: string; driver: string; features: string[]; cooperativeMatrices: string[]; maxBufferSize: number; maxStorageBufferBindingSize: number };
  createBuffer(bytes: number): number;
  upload(data: Uint8Array, capacity: number): number;
  write(id: number, data: Uint8Array): void;
  destroy(id: number): void;
  compile(code: string, checked: boolean, access: string): number;
  setProfiling(on: boolean): void;
  takeProfile(): number[];
  dispatch(pipeline: number, params: Uint32Array, buffers: number[], x: number, y: number, z: number): void;
  submit(): void;
  wait(): void;
  read(ids: number[], bytes: number[]): Buffer;
}

/** Where `npm run build:wgpu` puts the addon; LOCUS_WGPU_NODE overrides it (the GPU machine's bundle). */
export function addonPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return process.env.LOCUS_WGPU_NODE ?? path.join(here, 'native', 'locus-wgpu.node');
}

export function hasWgpuAddon(): boolean {
  return existsSync(/*turbopackIgnore: true*/ addonPath());
}

/**
 * Compiles WGSL to SPIR-V with naga, every capability on and no device (the addon's
 * `validateWgsl`): checks kernels for features this adapter lacks. Returns the SPIR-V's words.
 */
export function validateWgsl(code: string, file = addonPath()): number {
  const addon = { exports: {} as { validateWgsl(code: string): number } };
  process.dlopen(addon, file);
  return addon.exports.validateWgsl(code);
}

export class WgpuDriver implements GpuDriver {
  readonly info: WebGpuInfo;

  private constructor(private readonly gpu: NativeGpu) {
    const i = gpu.info();
    this.info = {
      driver: 'wgpu',
      adapter: `${i.adapter} (${i.backend}, ${i.driver})`,
      features: i.features,
      cooperativeMatrices: i.cooperativeMatrices,
      maxBufferBytes: i.maxBufferSize,
      maxBindingBytes: i.maxStorageBufferBindingSize,
    };
  }

  static open(file = addonPath()): WgpuDriver {
    if (!existsSync(/*turbopackIgnore: true*/ file)) throw new NoWebGpuError(`WebGPU needs the wgpu addon at ${file}: build it with \`npm run build:wgpu\` (Rust)`);
    // process.dlopen, not require: bundlers (Next's Turbopack) cannot resolve a path known at run time only
    const addon = { exports: {} as { Gpu: { open(): NativeGpu } } };
    process.dlopen(addon, file);
    const { Gpu } = addon.exports;
    try {
      return new WgpuDriver(Gpu.open());
    } catch (error) {
      throw new NoWebGpuError((error as Error).message);
    }
  }

  createBuffer(bytes: number): number {
    return this.gpu.createBuffer(bytes);
  }

  upload(data: Uint8Array, capacity: number): number {
    return this.gpu.upload(data, capacity);
  }

  write(buffer: unknown, data: Uint8Array): void {
    this.gpu.write(buffer as number, data);
  }

  destroy(buffer: unknown): void {
    this.gpu.destroy(buffer as number);
  }

  /** LOCUS_WGPU_CHECKED=1 compiles with wgpu's runtime checks (slower; for chasing a bad access). */
  compile(code: string): number {
    return this.gpu.compile(code, process.env.LOCUS_WGPU_CHECKED === '1', bindingAccess(code));
  }

  setProfiling(on: boolean): void {
    this.gpu.setProfiling(on);
  }

  takeProfile(): number[] {
    return this.gpu.takeProfile();
  }

  dispatch(pipeline: unknown, params: Uint32Array, buffers: readonly unknown[], [x, y, z]: readonly [number, number, number]): void {
    this.gpu.dispatch(pipeline as number, params, buffers as number[], x, y, z);
  }

  submit(): void {
    this.gpu.submit();
  }

  async read(buffers: readonly unknown[], bytes: readonly number[]): Promise<ArrayBuffer> {
    return this.readSync(buffers, bytes);
  }

  readSync(buffers: readonly unknown[], bytes: readonly number[]): ArrayBuffer {
    const out = this.gpu.read(buffers as number[], [...bytes]);
    return out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength) as ArrayBuffer;
  }

  async finish(): Promise<void> {
    this.gpu.wait();
  }

  finishSync(): void {
    this.gpu.wait();
  }
}

/**
 * The access of a kernel's storage bindings after the parameters (binding 0), as the addon's
 * explicit pipeline layout wants it: "r" for `var<storage, read>`, "w" for `read_write`, in binding
 * order 1..n.
 */
export function bindingAccess(code: string): string {
  const access: string[] = [];
  for (const m of code.matchAll(/@group\(0\)\s*@binding\((\d+)\)\s*var<storage,\s*(read_write|read)>/g)) {
    const binding = Number(m[1]);
    if (binding > 0) access[binding - 1] = m[2] === 'read' ? 'r' : 'w';
  }
  for (let i = 0; i < access.length; i++) if (!access[i]) throw new Error(`kernel has no storage binding ${i + 1}`);
  return access.join('');
}
