/**
 * The f16 kernels where the tests run (lavapipe: no cooperative matrices). The tensor-core kernel
 * cannot run here, so every variant is compiled to SPIR-V by naga with every capability on; the
 * backend must pick the tiled fallback. bench/webgpu/parity.ts checks its results and those of the
 * tensor-core kernel emulated (webgpu.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { COOP_TILES, coopKey, coopMatmulKernel, coopTileName, defaultCoopTile, hasCoopF16, PACK_F16, TRANSPOSE_F16, UNPACK_F16, GATHER_F16 } from './half';
import { TILES, tiledMatmulKernel } from './matmul';
import { validateWgsl } from './native';
import { createWebGpuBackend } from './open';

describe('f16 matmul kernels', () => {
  it('every tensor-core variant (tile, 16-byte or per-half loads, f16 or f32 operands, transposed or not, read as f16 or as words; emulated too) compiles to SPIR-V, with row-major fragment loads only', () => {
    const bits = (i: number, n: number) => Array.from({ length: n }, (_, b) => Boolean(i & (1 << b)));
    for (const t of COOP_TILES)
      for (let i = 0; i < 128; i++) {
        const [vecA, vecB, f32A, f32B, transA, transB, halfLoads] = bits(i, 7) as [boolean, boolean, boolean, boolean, boolean, boolean, boolean];
        const form = { vecA, vecB, f32A, f32B, transA, transB, halfLoads };
        const code = coopMatmulKernel(t, form);
        expect(validateWgsl(code), `${coopKey(t, form)}`).toBeGreaterThan(0);
        // column-major loads (coopLoad) did not compile on the H200's driver and lose the device
        expect(code).not.toMatch(/coopLoad</);
        const emulated = coopMatmulKernel(t, form, true);
        expect(validateWgsl(emulated), `${coopKey(t, form, true)}`).toBeGreaterThan(0);
        expect(emulated).not.toMatch(/coop[A-Z]|cooperative/);
      }
    for (const code of [PACK_F16, UNPACK_F16, GATHER_F16, TRANSPOSE_F16, tiledMatmulKernel(TILES[0]!, true, false, true)]) expect(validateWgsl(code)).toBeGreaterThan(0);
  });

  it('the tensor cores only where the adapter offers 16x16x16 f16 -> f32 and shader-f16', () => {
    expect(hasCoopF16(['SHADER_F16', 'SUBGROUP'], ['16x16x16 F16->F16', '16x16x16 F16->F32'])).toBe(true);
    expect(hasCoopF16(['SUBGROUP'], ['16x16x16 F16->F32'])).toBe(false);
    expect(hasCoopF16(['SHADER_F16'], ['16x8x16 F16->F32'])).toBe(false);
    expect(hasCoopF16(['SHADER_F16'], [])).toBe(false);
  });

  it('falls back to the tiled f16 kernel on an adapter without cooperative matrices (lavapipe here)', async () => {
    const { backend, info } = await createWebGpuBackend();
    if (info.cooperativeMatrices.includes('16x16x16 F16->F32')) return; // a GPU: the parity script checks both
    expect(backend.halfKernel).toBe('tiled');
  });

  it('untimed, the largest tensor-core tile that fills the GPU', () => {
    expect(coopTileName(defaultCoopTile(4096, 4096, 1))).toBe(coopTileName(COOP_TILES[0]!));
    const thin = defaultCoopTile(512, 1600, 1);
    expect(Math.ceil(512 / thin.bm) * Math.ceil(1600 / thin.bn)).toBeGreaterThanOrEqual(132);
    const head = defaultCoopTile(64, 64, 200); // attention per head: no padding
    expect([head.bm, head.bn]).toEqual([64, 64]);
  });
});
