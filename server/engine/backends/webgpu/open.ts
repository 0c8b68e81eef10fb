/**
 * Opens the WebGPU backend on a driver: LOCUS_WGPU_DRIVER=wgpu (our addon, the default) or dawn.
 */
import { DawnDriver } from './dawn';
import type { WebGpuInfo } from './driver';
import { WebGpuBackend } from './index';
import { WgpuDriver } from './native';

export { NoWebGpuError, type WebGpuInfo } from './driver';
export { hasWgpuAddon } from './native';

export async function createWebGpuBackend(driver = process.env.LOCUS_WGPU_DRIVER ?? 'wgpu'): Promise<{ backend: WebGpuBackend; info: WebGpuInfo }> {
  const d = driver === 'dawn' ? await DawnDriver.open() : WgpuDriver.open();
  return { backend: new WebGpuBackend(d), info: d.info };
}
