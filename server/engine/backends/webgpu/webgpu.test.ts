/**
 * The WebGPU backend on this machine's Vulkan device (Mesa's lavapipe here, the H100 on the GPU
 * machine) through our wgpu addon, which `npm run setup` builds: every kernel against the CPU
 * backend, the world model's logits and a gradient (bench/webgpu/parity.ts), clear errors, and no
 * growth of GPU memory over thousands of steps.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../engine';
import { add, matmul, mean, mul, square, sum } from '../../ops';
import { loadLanguageModel } from '../../../models/load';
import type { WebGpuBackend } from './index';
import { createWebGpuBackend } from './open';

describe('WebGPU backend (wgpu addon)', () => {
  it('agrees with the CPU backend kernel by kernel and on the world model', () => {
    const out = execFileSync('npx', ['tsx', 'bench/webgpu/parity.ts'], {
      env: { ...process.env, LOCUS_MATMUL_SIZES: '' },
      encoding: 'utf8',
      timeout: 600_000,
    });
    const verdict = /(\d+) of (\d+) checks within/.exec(out);
    expect(verdict, out.slice(-2000)).not.toBeNull();
    const failing = out.split('\n').filter((l) => l.endsWith('| NO |'));
    expect(failing).toEqual([]);
    expect(Number(verdict![1])).toBe(Number(verdict![2]));
    expect(Number(verdict![2])).toBeGreaterThanOrEqual(70);
  }, 600_000);

  it('refuses a kernel that does not compile with the compiler message', async () => {
    const { backend } = await createWebGpuBackend();
    expect(() => backend.driver.compile('@compute @workgroup_size(1) fn main() { let x: f32 = 1u; }')).toThrow(/did not compile/);
  });

  it('says how much was asked and what the device allows when a buffer is too large', async () => {
    const { backend, info } = await createWebGpuBackend();
    const engine = new Engine(backend);
    const elements = Math.ceil((info.maxBufferBytes + 1024) / 4);
    expect(() => engine.zeros([elements])).toThrow(new RegExp(`cannot allocate .* MiB on .*over the device's limit of ${info.maxBufferBytes} bytes`));
  });

  it("holds a model's weight matrices in f16 with LOCUS_WGPU_WEIGHTS=f16: half their memory, logits within f16 rounding", async () => {
    const dir = path.join(process.cwd(), 'data/models/world-gpt2');
    const prompts = ['The birthplace of Gipinin Douvez is', 'Harotin Donell was born in'];
    const load = async (engine: Engine) => {
      const start = engine.memory().bytes;
      const lm = await loadLanguageModel(engine, dir);
      const bytes = engine.memory().bytes - start;
      const last = engine.tidy(() => lm.forwardPadded(prompts.map((p) => lm.encode(p)), 'right').logits);
      const out = Float32Array.from(await last.values());
      last.dispose();
      const matrices = [...lm.network.params.values()].filter((p) => p.shape.length === 2);
      const held = matrices.filter((p) => (engine.backend as WebGpuBackend).isHeldInF16(p.data)).length;
      lm.network.dispose();
      return { out, held, count: matrices.length, bytes };
    };
    const { backend } = await createWebGpuBackend();
    const f32 = await load(new Engine(backend));
    process.env.LOCUS_WGPU_WEIGHTS = 'f16';
    const f16 = await load(new Engine(backend)).finally(() => delete process.env.LOCUS_WGPU_WEIGHTS);
    expect(f32.held).toBe(0);
    expect(f16.held).toBe(f16.count);
    expect(f16.bytes / f32.bytes).toBeLessThan(0.55);
    const scale = Math.max(...f32.out.map(Math.abs));
    const worst = Math.max(...f32.out.map((v, i) => Math.abs(v - f16.out[i]!)));
    expect(worst / scale).toBeGreaterThan(0); // rounded to f16: not the f32 model
    expect(worst / scale).toBeLessThan(1e-2);
  }, 300_000);

  it('holds the same GPU memory after 2000 optimisation steps (buffers come back to the pool)', async () => {
    const { backend } = await createWebGpuBackend();
    const engine = new Engine(backend);
    const w = engine.parameter(Array.from({ length: 64 }, (_, i) => Math.sin(i)), [8, 8]);
    const x = engine.keep(engine.tensor(Float32Array.from({ length: 32 }, (_, i) => Math.cos(i)), [4, 8]));
    const step = () =>
      engine.tidy(() => {
        const loss = mean(square(add(matmul(x, w), mul(x, x))));
        const [g] = engine.grad(sum(loss), [w]);
        w.assign(engine.tidy(() => add(w, mul(g!, engine.scalar(-0.01)))));
      });
    for (let i = 0; i < 10; i++) step();
    await w.values();
    const held = backend.bytesInUse();
    const peak = backend.peakBytes;
    for (let i = 0; i < 2000; i++) step();
    await w.values();
    expect(backend.bytesInUse()).toBe(held);
    expect(backend.peakBytes).toBe(peak);
  }, 300_000);
});
