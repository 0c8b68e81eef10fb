/// <reference types="@webgpu/types" />
/**
 * A GPUDevice in Node: Dawn's Node binding (dawn.node from the `webgpu` npm package, 21 MB, not a
 * dependency of the studio) at $LOCUS_DAWN_NODE. On the GPU machine Dawn reaches the H100 through
 * Vulkan (bench/webgpu/README.md); the dev machine has no adapter Dawn accepts (Debian 12's lavapipe
 * lacks shaderUniform*ArrayDynamicIndexing), so the backend is exercised there only.
 */
import { createRequire } from 'node:module';
import { WebGpuBackend } from './index';

export class NoWebGpuError extends Error {
  override name = 'NoWebGpuError';
}

export interface WebGpuInfo {
  adapter: string;
  features: string[];
  maxBufferBytes: number;
}

export async function createWebGpuBackend(dawnPath = process.env.LOCUS_DAWN_NODE): Promise<{ backend: WebGpuBackend; info: WebGpuInfo }> {
  if (!dawnPath) throw new NoWebGpuError('WebGPU needs Dawn: set LOCUS_DAWN_NODE to the path of dawn.node (the webgpu npm package ships it)');
  const require = createRequire(import.meta.url);
  const { create, globals } = require(dawnPath) as { create(flags: string[]): GPU; globals: Record<string, unknown> };
  // GPUBufferUsage, GPUMapMode... as browsers define them
  Object.assign(globalThis, globals);
  const gpu = create(['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia']);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new NoWebGpuError('No WebGPU adapter (Dawn found no usable GPU)');
  const features = [...adapter.features].filter((f): f is GPUFeatureName => ['shader-f16', 'timestamp-query'].includes(f));
  const device = await adapter.requestDevice({
    requiredFeatures: features,
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    },
  });
  device.addEventListener('uncapturederror', (e) => process.stderr.write(`webgpu: ${(e as GPUUncapturedErrorEvent).error.message}\n`));
  const info = adapter.info;
  return {
    backend: new WebGpuBackend(device),
    info: { adapter: `${info.vendor} ${info.device || info.description}`.trim(), features: [...adapter.features].sort(), maxBufferBytes: adapter.limits.maxBufferSize },
  };
}
