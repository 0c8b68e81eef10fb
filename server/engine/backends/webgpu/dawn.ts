/// <reference types="@webgpu/types" />
/**
 * The Dawn driver: the WebGPU JavaScript API from Dawn's Node binding (dawn.node from the `webgpu`
 * npm package, 21 MB, not a dependency of the studio) at $LOCUS_DAWN_NODE. Kept for machines where
 * it works; on the GPU machine's VM it aborts or stalls after a few hundred calls
 * (bench/webgpu/README.md), which is why ./native.ts is the default. Locally there is no adapter
 * Dawn accepts (Debian 12's lavapipe lacks shaderUniform*ArrayDynamicIndexing).
 */
import { NoWebGpuError, type GpuDriver, type WebGpuInfo } from './driver';

const STORAGE = 0x80 | 0x04 | 0x08; // GPUBufferUsage.STORAGE | COPY_SRC | COPY_DST

export class DawnDriver implements GpuDriver {
  private encoder: GPUCommandEncoder | null = null;
  /** Parameter buffers of recorded passes, destroyed once their encoder is submitted. */
  private spent: GPUBuffer[] = [];

  private constructor(
    private readonly device: GPUDevice,
    readonly info: WebGpuInfo,
  ) {}

  static async open(dawnPath = process.env.LOCUS_DAWN_NODE): Promise<DawnDriver> {
    if (!dawnPath) throw new NoWebGpuError('The Dawn driver needs LOCUS_DAWN_NODE: the path of dawn.node (the webgpu npm package ships it)');
    const addon = { exports: {} as { create(flags: string[]): GPU; globals: Record<string, unknown> } };
    process.dlopen(addon, dawnPath); // as native.ts: a run-time path bundlers cannot resolve
    const { create, globals } = addon.exports;
    Object.assign(globalThis, globals); // GPUBufferUsage, GPUMapMode... as browsers define them
    const gpu = create(['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia']);
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new NoWebGpuError('No WebGPU adapter (Dawn found no usable GPU)');
    const device = await adapter.requestDevice({
      requiredFeatures: [...adapter.features].filter((f): f is GPUFeatureName => ['shader-f16', 'timestamp-query'].includes(f)),
      requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize },
    });
    device.addEventListener('uncapturederror', (e) => process.stderr.write(`webgpu: ${(e as GPUUncapturedErrorEvent).error.message}\n`));
    const a = adapter.info;
    return new DawnDriver(device, {
      driver: 'dawn',
      adapter: `${a.vendor} ${a.device || a.description}`.trim(),
      features: [...adapter.features].sort(),
      cooperativeMatrices: [],
      maxBufferBytes: adapter.limits.maxBufferSize,
      maxBindingBytes: adapter.limits.maxStorageBufferBindingSize,
    });
  }

  createBuffer(bytes: number): GPUBuffer {
    if (bytes > this.info.maxBufferBytes) throw new Error(`a GPU buffer of ${bytes} bytes is over the device's limit of ${this.info.maxBufferBytes} bytes`);
    return this.device.createBuffer({ size: bytes, usage: STORAGE });
  }

  upload(data: Uint8Array, capacity: number): GPUBuffer {
    const buffer = this.device.createBuffer({ size: Math.max(capacity, data.byteLength), usage: STORAGE, mappedAtCreation: true });
    new Uint8Array(buffer.getMappedRange()).set(data);
    buffer.unmap();
    return buffer;
  }

  write(buffer: unknown, data: Uint8Array): void {
    this.device.queue.writeBuffer(buffer as GPUBuffer, 0, data as Uint8Array<ArrayBuffer>);
  }

  destroy(buffer: unknown): void {
    (buffer as GPUBuffer).destroy();
  }

  compile(code: string): GPUComputePipeline {
    return this.device.createComputePipeline({ layout: 'auto', compute: { module: this.device.createShaderModule({ code }), entryPoint: 'main' } });
  }

  private open(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  dispatch(pipeline: unknown, params: Uint32Array, buffers: readonly unknown[], groups: readonly [number, number, number]): void {
    const p = pipeline as GPUComputePipeline;
    const prm = this.upload(new Uint8Array(params.buffer, params.byteOffset, Math.max(4, params.byteLength)), Math.max(4, params.byteLength));
    this.spent.push(prm);
    const entries = [prm, ...(buffers as GPUBuffer[])].map((buffer, binding) => ({ binding, resource: { buffer } }));
    const pass = this.open().beginComputePass();
    pass.setPipeline(p);
    pass.setBindGroup(0, this.device.createBindGroup({ layout: p.getBindGroupLayout(0), entries }));
    pass.dispatchWorkgroups(...groups);
    pass.end();
  }

  submit(): void {
    if (!this.encoder) return;
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    for (const b of this.spent) b.destroy();
    this.spent = [];
  }

  async read(buffers: readonly unknown[], bytes: readonly number[]): Promise<ArrayBuffer> {
    const total = bytes.reduce((a, b) => a + b, 0);
    const staging = this.device.createBuffer({ size: Math.max(4, total), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = this.open();
    let offset = 0;
    buffers.forEach((b, i) => {
      encoder.copyBufferToBuffer(b as GPUBuffer, 0, staging, offset, bytes[i]!);
      offset += bytes[i]!;
    });
    this.submit();
    await staging.mapAsync(GPUMapMode.READ);
    const out = staging.getMappedRange().slice(0, total);
    staging.unmap();
    staging.destroy();
    return out;
  }

  async finish(): Promise<void> {
    this.submit();
    await this.device.queue.onSubmittedWorkDone();
  }
}
