/**
 * The backend a process computes on: LOCUS_BACKEND=cpu (the default), webgpu (the wgpu addon on the
 * first Vulkan GPU; an error saying why when there is none), or auto (WebGPU when an adapter opens,
 * else the CPU). The same model code runs on both.
 */
import type { Backend } from '../backend';
import { CpuBackend } from './cpu';

export type BackendChoice = 'cpu' | 'webgpu' | 'auto';

export async function createBackend(choice: string = process.env.LOCUS_BACKEND ?? 'cpu'): Promise<Backend> {
  if (choice === 'cpu') return new CpuBackend();
  if (choice !== 'webgpu' && choice !== 'auto') throw new Error(`LOCUS_BACKEND=${choice}: expected cpu, webgpu or auto`);
  const { createWebGpuBackend, NoWebGpuError } = await import('./webgpu/open');
  try {
    return (await createWebGpuBackend()).backend;
  } catch (error) {
    if (choice === 'auto' && error instanceof NoWebGpuError) return new CpuBackend();
    throw error;
  }
}
