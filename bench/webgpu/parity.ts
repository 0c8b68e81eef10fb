/**
 * The WebGPU backend against the CPU backend, on the GPU machine (issue 5): every kernel on random
 * inputs (relative error = max |gpu - cpu| / max |cpu|, limit 1e-4 in f32), then the world model
 * (GPT-2, 6 layers) forward and a gradient through the engine on both backends, then the f32 matmul
 * speed, f32 and f16 (tensor cores where the adapter has cooperative matrices, else the tiled
 * fallback). The f16 checks (operands rounded to f16, f32 accumulation) against the CPU's f32 have
 * the limit 1e-2. Prints one JSON line per check and a table last. Packed by bench/webgpu/pack-parity.sh.
 * LOCUS_PARITY_ONLY=<regular expression> runs the kernel checks whose name it matches (and skips
 * the model and speed parts); LOCUS_WGPU_WARM=1 compiles every kernel first (WebGpuBackend.warm).
 * The tensor-core kernel is checked in each of its operand forms (COOP_FORMS; LOCUS_PARITY_COOP_FORMS
 * names those to check, default all), emulated where the adapter has no tensor cores (lavapipe).
 * `--coop-tiles` prints the tensor-core tiles' names and exits (run.sh checks each in a process of its own).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CpuBackend, Engine } from '../../server/engine';
import type { Backend } from '../../server/engine/backend';
import type { AnyTypedArray } from '../../server/engine/dtype';
import { createWebGpuBackend } from '../../server/engine/backends/webgpu/open';
import type { HalfKernel, WebGpuBackend } from '../../server/engine/backends/webgpu/index';
import { TILES, tileName } from '../../server/engine/backends/webgpu/matmul';
import { COOP_TILES, coopTileName } from '../../server/engine/backends/webgpu/half';
import { logSoftmax, reshape, sum, takeAlongLast } from '../../server/engine/ops';
import { loadCheckpointDir } from '../../server/models/load';

const LIMIT = 1e-4;
/**
 * How the tensor-core kernel may read its operands (WebGpuBackend's coopReadsF32, coopTransposes,
 * coopHalfLoads): f32 read and rounded as staged; transposed as staged; read as f16 values; each
 * combination ('packed': none, packed f16 operands with transposing passes).
 */
const COOP_FORMS = Array.from({ length: 8 }, (_, i) => {
  const [f32, transposes, halfLoads] = [i & 1, i & 2, i & 4].map(Boolean) as [boolean, boolean, boolean];
  const name = [f32 && 'f32read', transposes && 'kernelT', halfLoads && 'f16load'].filter(Boolean).join('-') || 'packed';
  return { name, f32, transposes, halfLoads };
});
/** f16 operands against the CPU's f32 (issue 5). */
const LIMIT_F16 = 1e-2;
let seed = 12345;
const rand = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const randn = (n: number, scale = 1, shift = 0) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale + shift);
const ints = (n: number, hi: number) => Int32Array.from({ length: n }, () => Math.floor(rand() * hi));

interface Row {
  check: string;
  relError: number | null;
  ok: boolean;
  limit: number;
  note?: string;
}
const rows: Row[] = [];

function relError(gpu: ArrayLike<number>, cpu: ArrayLike<number>): number {
  if (gpu.length !== cpu.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < cpu.length; i++) {
    const c = cpu[i]!;
    const g = gpu[i]!;
    if (Number.isNaN(c) && Number.isNaN(g)) continue;
    if (c === g) continue; // same infinities
    diff = Math.max(diff, Math.abs(g - c));
    scale = Math.max(scale, Math.abs(c));
  }
  return diff / Math.max(scale, 1e-6);
}

function record(check: string, err: number, note?: string, limit = LIMIT) {
  const row = { check, relError: err, ok: err < limit, limit, note };
  rows.push(row);
  console.log(JSON.stringify(row));
}

async function main() {
  const cpu: Backend = new CpuBackend();
  const { backend: gpu, info } = await createWebGpuBackend();
  console.log(JSON.stringify({ adapter: info }));
  if (process.env.LOCUS_WGPU_WARM === '1') {
    const t = performance.now();
    gpu.warm();
    console.log(JSON.stringify({ warm: `${((performance.now() - t) / 1000).toFixed(2)} s` }));
  }

  /**
   * Runs `op` on both backends with the same inputs. The CPU side is read at once; the GPU outputs
   * are read together at the end (readMany: one wait for the GPU instead of one per check).
   */
  const only = process.env.LOCUS_PARITY_ONLY ? new RegExp(process.env.LOCUS_PARITY_ONLY) : undefined;
  const pending: { name: string; limit: number; cpu: AnyTypedArray[]; gpu: { data: unknown; dtype: 'f32' | 'i32'; size: number }[] }[] = [];
  const outputsOf = (out: unknown): unknown[] =>
    (typeof out === 'object' && out !== null && !('buffer' in out) && !ArrayBuffer.isView(out) ? Object.values(out) : [out]) as unknown[];
  const both = async (
    name: string,
    inputs: { values: Float32Array | Int32Array; dtype?: 'f32' | 'i32' }[],
    op: (b: Backend, data: unknown[]) => unknown,
    outDtype: 'f32' | 'i32' = 'f32',
    limit = LIMIT,
  ) => {
    if (only && !only.test(name)) return;
    try {
      const cpuOuts = outputsOf(op(cpu, inputs.map((x) => cpu.upload(x.values, x.dtype ?? 'f32')))) as AnyTypedArray[];
      const cpuValues = await Promise.all(cpuOuts.map((o) => cpu.read(o, outDtype, o.length)));
      const gpuOuts = outputsOf(op(gpu, inputs.map((x) => gpu.upload(x.values, x.dtype ?? 'f32'))));
      pending.push({ name, limit, cpu: cpuValues, gpu: gpuOuts.map((o, i) => ({ data: o, dtype: outDtype, size: cpuValues[i]!.length })) });
    } catch (error) {
      rows.push({ check: name, relError: null, ok: false, limit, note: (error as Error).message.split('\n')[0] });
      console.log(JSON.stringify(rows.at(-1)));
    }
  };
  const settle = async () => {
    const all = pending.flatMap((p) => p.gpu);
    const values = await gpu.readMany(all);
    let k = 0;
    for (const p of pending) {
      const err = Math.max(...p.cpu.map((c) => relError(values[k++]!, c)));
      record(p.name, err, undefined, p.limit);
    }
    pending.length = 0;
  };

  const n = 1000;
  for (const op of ['neg', 'exp', 'abs', 'sign', 'square', 'tanh', 'erf', 'sigmoid', 'relu', 'step', 'geluTanh', 'geluErf', 'silu', 'geluTanhGrad', 'geluErfGrad', 'siluGrad'] as const)
    await both(`unary ${op}`, [{ values: randn(n, 4) }], (b, [x]) => b.unary(op, x, n));
  for (const op of ['log', 'sqrt', 'rsqrt', 'reciprocal'] as const) await both(`unary ${op}`, [{ values: randn(n, 1, 2) }], (b, [x]) => b.unary(op, x, n));
  await both('affine', [{ values: randn(n) }], (b, [x]) => b.affine(x, n, 0.5, -2));
  await both('clamp', [{ values: randn(n, 3) }], (b, [x]) => b.clamp(x, n, -1, 1.5));
  await both('fill f32', [], (b) => b.fill(n, 3.25, 'f32'));
  await both('fill i32', [], (b) => b.fill(n, 7, 'i32'), 'i32');
  for (const op of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'greater', 'equal'] as const) {
    await both(`binary ${op} broadcast`, [{ values: randn(4 * 3 * 5) }, { values: randn(3 * 1, 1, 2) }], (b, [x, y]) => b.binary(op, x, [4, 3, 5], y, [3, 1], [4, 3, 5]));
  }
  // the one-index paths (same shape, a bias, a per-row factor, a scalar) and the reductions by rows
  // and by columns; the cases above take the general kernels
  for (const op of ['add', 'mul', 'sub', 'div'] as const) {
    await both(`binary ${op} same shape`, [{ values: randn(6 * 7 * 50) }, { values: randn(6 * 7 * 50, 1, 2) }], (b, [x, y]) => b.binary(op, x, [6, 7, 50], y, [6, 7, 50], [6, 7, 50]));
    await both(`binary ${op} bias (trailing dims)`, [{ values: randn(6 * 7 * 50) }, { values: randn(50, 1, 2) }], (b, [x, y]) => b.binary(op, x, [6, 7, 50], y, [50], [6, 7, 50]));
    await both(`binary ${op} per-row factor`, [{ values: randn(6 * 7 * 50, 1, 2) }, { values: randn(6 * 7, 1, 2) }], (b, [x, y]) => b.binary(op, y, [6, 7, 1], x, [6, 7, 50], [6, 7, 50]));
    await both(`binary ${op} scalar`, [{ values: randn(6 * 7 * 50) }, { values: randn(1, 1, 2) }], (b, [x, y]) => b.binary(op, x, [6, 7, 50], y, [1], [6, 7, 50]));
  }
  for (const op of ['sum', 'max', 'min'] as const) {
    await both(`reduce ${op} axis 0 (columns)`, [{ values: randn(300 * 70) }], (b, [x]) => b.reduce(op, x, [300, 70], [0]));
    await both(`reduce ${op} middle axis`, [{ values: randn(6 * 7 * 50) }], (b, [x]) => b.reduce(op, x, [6, 7, 50], [1]));
    await both(`reduce ${op} last two axes (rows)`, [{ values: randn(6 * 7 * 150) }], (b, [x]) => b.reduce(op, x, [6, 7, 150], [1, 2]));
  }
  await both('binary pow', [{ values: randn(60, 1, 2) }, { values: randn(60, 2) }], (b, [x, y]) => b.binary('pow', x, [60], y, [60], [60]));
  await both('where', [{ values: Float32Array.from(randn(n), (v) => (v > 0 ? 1 : 0)) }, { values: randn(n) }, { values: randn(n) }], (b, [c, x, y]) => b.where(c, x, y, n));
  for (const op of ['sum', 'max', 'min'] as const) {
    await both(`reduce ${op} last`, [{ values: randn(6 * 7 * 50) }], (b, [x]) => b.reduce(op, x, [6, 7, 50], [2]));
    await both(`reduce ${op} axes 0,2`, [{ values: randn(6 * 7 * 50) }], (b, [x]) => b.reduce(op, x, [6, 7, 50], [0, 2]));
  }
  await both('argmax', [{ values: randn(20 * 300) }], (b, [x]) => b.argmax(x, 20, 300), 'i32');
  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    const [m, k, nn] = [37, 53, 29];
    await both(`matmul transA=${ta} transB=${tb} batch [2,3] x [3]`, [{ values: randn(2 * 3 * m * k) }, { values: randn(3 * k * nn) }], (b, [x, y]) =>
      b.matmul(x, y, { aShape: ta ? [2, 3, k, m] : [2, 3, m, k], bShape: tb ? [3, nn, k] : [3, k, nn], transA: ta, transB: tb, outShape: [2, 3, m, nn] }),
    );
  }
  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    const [m, k, nn] = [200, 147, 301]; // the tiled kernels, with edges in every dimension
    for (const tile of TILES) {
      (gpu as WebGpuBackend).tileOverride = tile;
      await both(`matmul tiled ${tileName(tile)} transA=${ta} transB=${tb} batch [2] x [1]`, [{ values: randn(2 * m * k) }, { values: randn(k * nn) }], (b, [x, y]) =>
        b.matmul(x, y, { aShape: ta ? [2, k, m] : [2, m, k], bShape: tb ? [1, nn, k] : [1, k, nn], transA: ta, transB: tb, outShape: [2, m, nn] }),
      );
      (gpu as WebGpuBackend).tileOverride = undefined;
    }
  }
  await both('permute', [{ values: randn(2 * 3 * 4 * 5) }], (b, [x]) => b.permute(x, [2, 3, 4, 5], [0, 2, 1, 3]));
  await both('slice', [{ values: randn(4 * 6 * 8) }], (b, [x]) => b.slice(x, [4, 6, 8], [1, 2, 3], [2, 3, 4]));
  await both('slice of whole rows (one run of memory)', [{ values: randn(4 * 6 * 8) }], (b, [x]) => b.slice(x, [4, 6, 8], [1, 0, 0], [2, 6, 8]));
  await both('permute keeping the last two dims together', [{ values: randn(2 * 3 * 4 * 5) }], (b, [x]) => b.permute(x, [2, 3, 4, 5], [1, 0, 2, 3]));
  await both('pad', [{ values: randn(2 * 3 * 4) }], (b, [x]) => b.pad(x, [2, 3, 4], [4, 6, 8], [1, 2, 3]));
  await both('pad of a narrow (merged dims)', [{ values: randn(2 * 5 * 4) }], (b, [x]) => b.pad(x, [2, 5, 4], [2, 5, 12], [0, 0, 4]));
  await both('concat axis 1', [{ values: randn(2 * 3 * 4) }, { values: randn(2 * 5 * 4) }], (b, [x, y]) => b.concat([x, y], [[2, 3, 4], [2, 5, 4]], 1));
  await both('gather axis 0', [{ values: randn(50 * 16) }, { values: ints(30, 50), dtype: 'i32' }], (b, [x, i]) => b.gather(x, [50, 16], 'f32', i, 30, 0));
  await both('gather axis 1', [{ values: randn(3 * 50 * 4) }, { values: ints(7, 50), dtype: 'i32' }], (b, [x, i]) => b.gather(x, [3, 50, 4], 'f32', i, 7, 1));
  await both('scatterAdd axis 0', [{ values: randn(30 * 16) }, { values: ints(30, 50), dtype: 'i32' }], (b, [g, i]) => b.scatterAdd(g, i, 30, [50, 16], 0));
  await both('takeAlongLast', [{ values: randn(20 * 300) }, { values: ints(20, 300), dtype: 'i32' }], (b, [x, i]) => b.takeAlongLast(x, i, 20, 300));
  await both('putAlongLast', [{ values: randn(20) }, { values: ints(20, 300), dtype: 'i32' }], (b, [g, i]) => b.putAlongLast(g, i, 20, 300));
  await both('softmax', [{ values: randn(20 * 300, 5) }], (b, [x]) => b.softmax(x, 20, 300));
  await both('softmax with a masked row', [{ values: Float32Array.from(randn(4 * 300, 5), (v, i) => (i < 300 ? -Infinity : v)) }], (b, [x]) => b.softmax(x, 4, 300));
  await both('logSoftmax', [{ values: randn(20 * 300, 5) }], (b, [x]) => b.logSoftmax(x, 20, 300));
  const norm = { rows: 12, dim: 64, eps: 1e-5 };
  await both('layerNorm', [{ values: randn(12 * 64, 2, 0.5) }, { values: randn(64, 1, 1) }, { values: randn(64) }], (b, [x, w, bb]) => b.layerNorm(x, w, bb, norm));
  await both('layerNorm no beta', [{ values: randn(12 * 64, 2, 0.5) }, { values: randn(64, 1, 1) }], (b, [x, w]) => b.layerNorm(x, w, null, norm));
  await both('layerNormBackward', [{ values: randn(12 * 64) }, { values: randn(12 * 64, 2, 0.5) }, { values: randn(64, 1, 1) }], (b, [g, x, w]) => {
    const f = b.layerNorm(x, w, null, norm);
    return b.layerNormBackward(g, x, w, f.mean, f.rstd, norm);
  });
  await both('layerNormBackward without parameter gradients', [{ values: randn(12 * 64) }, { values: randn(12 * 64, 2, 0.5) }, { values: randn(64, 1, 1) }], (b, [g, x, w]) => {
    const f = b.layerNorm(x, w, null, norm);
    const grads = b.layerNormBackward(g, x, w, f.mean, f.rstd, { ...norm, paramGrads: false });
    if (grads.dgamma !== null || grads.dbeta !== null) throw new Error('parameter gradients computed though not asked for');
    return grads.dx;
  });
  await both('rmsNorm', [{ values: randn(12 * 64, 2, 0.5) }, { values: randn(64, 1, 1) }], (b, [x, w]) => b.rmsNorm(x, w, norm));
  await both('rmsNormBackward', [{ values: randn(12 * 64) }, { values: randn(12 * 64, 2, 0.5) }, { values: randn(64, 1, 1) }], (b, [g, x, w]) => {
    const f = b.rmsNorm(x, w, norm);
    return b.rmsNormBackward(g, x, w, f.rstd, norm);
  });
  for (const interleaved of [false, true]) {
    await both(`rope interleaved=${interleaved}`, [{ values: randn(2 * 3 * 5 * 16) }, { values: randn(2 * 5 * 4) }, { values: randn(2 * 5 * 4) }], (b, [x, c, s]) =>
      b.rope(x, c, s, { shape: [2, 3, 5, 16], rotaryDim: 8, interleaved, inverse: false, tableBatch: 2 }),
    );
  }
  await both('cast f32->f16->f32', [{ values: randn(n, 100) }], (b, [x]) => b.cast(b.cast(x, n, 'f32', 'f16'), n, 'f16', 'f32'));
  await both('cast f32->bf16->f32', [{ values: randn(n, 100) }], (b, [x]) => b.cast(b.cast(x, n, 'f32', 'bf16'), n, 'bf16', 'f32'));
  await both('cast f32->i32', [{ values: randn(n, 100) }], (b, [x]) => b.cast(x, n, 'f32', 'i32'), 'i32');

  // f16: a tensor held in f16 reads back as the CPU's f32 -> f16 -> f32 rounding (exactly); kernels
  // that read it (a unary op, a gather) see the rounded values; products with f16 operands (held,
  // or packed on the fly with matmulPrecision 'f16') agree with the CPU's f32 products within 1e-2,
  // for the tiled fallback and, where the adapter has them, the tensor-core kernel with each tile.
  const g = gpu as WebGpuBackend;
  const rounded = (b: Backend, x: unknown, size: number) => b.cast(b.cast(x, size, 'f32', 'f16'), size, 'f16', 'f32');
  const held = (b: Backend, x: unknown, size: number) => {
    if (b === cpu) return rounded(b, x, size);
    g.holdInF16(x);
    return x;
  };
  const wide = Float32Array.from(randn(n, 100), (v, i) => (i % 97 === 0 ? v * 1e-6 : i % 89 === 0 ? v * 1000 : v)); // f16 subnormals, and past 65504
  await both('f16 held: read back', [{ values: wide }], (b, [x]) => held(b, x, n));
  await both('f16 held: unary exp reads it widened', [{ values: randn(n, 2) }], (b, [x]) => b.unary('exp', held(b, x, n), n));
  // the tensor-core product's transposes: 3 matrices of 37 x 53 (an odd count of halves: matrices
  // start mid-word, the last word is half full)
  await both('f16 held: transposed (3 x 37x53 -> 3 x 53x37)', [{ values: randn(3 * 37 * 53) }], (b, [x]) =>
    b === cpu ? b.permute(rounded(b, x, 3 * 37 * 53), [3, 37, 53], [0, 2, 1]) : g.transposeHeldF16(held(b, x, 3 * 37 * 53), 3, 37, 53),
  );
  await both('f16 held: gather axis 0 from it', [{ values: randn(50 * 16) }, { values: ints(30, 50), dtype: 'i32' }], (b, [x, i]) => b.gather(held(b, x, 50 * 16), [50, 16], 'f32', i, 30, 0));
  const halfMatmul = (kernel: HalfKernel, tiles: () => void, body: (b: Backend) => unknown) => (b: Backend) => {
    if (b === cpu) return body(b);
    const saved = [g.matmulPrecision, g.halfKernel, g.coopReadsF32, g.coopTransposes, g.coopHalfLoads] as const;
    g.matmulPrecision = 'f16';
    g.halfKernel = kernel;
    tiles();
    try {
      return body(b);
    } finally {
      [g.matmulPrecision, g.halfKernel, g.coopReadsF32, g.coopTransposes, g.coopHalfLoads] = saved;
      g.halfTileOverride = undefined;
      g.coopTileOverride = undefined;
    }
  };
  // shapes: odd (loads a half at a time, edges everywhere), 8-aligned (16-byte loads, edges in every
  // dimension), whole tiles (stores straight from the fragments), batched with a broadcast operand.
  // The emulated tensor-core kernel (scalar loops, slow on lavapipe) takes smaller ones with the same
  // cases but whole tiles (it has one store path): a whole 128-tile and an edge one along m and n,
  // two K slices of 32 and a part.
  const halfShapes: [string, number, number, number][] = [
    ['200x147x301', 200, 147, 301],
    ['200x152x296', 200, 152, 296],
    ['256x64x128', 256, 64, 128],
  ];
  const emulatedShapes: typeof halfShapes = [
    ['136x75x131', 136, 75, 131],
    ['136x80x136', 136, 80, 136],
  ];
  const transposes = [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const;
  const coop = info.cooperativeMatrices.includes('16x16x16 F16->F32') && info.features.includes('SHADER_F16');
  // the tensor-core kernel: on the tensor cores, else emulated (every part but the fragment products)
  const coopKernel: HalfKernel | undefined = coop ? 'coop' : info.features.includes('SHADER_F16') ? 'coop-emulated' : undefined;
  const forms = COOP_FORMS.filter((f) => process.env.LOCUS_PARITY_COOP_FORMS?.split(',').includes(f.name) ?? true);
  type Check = (kernel: HalfKernel, tileLabel: string, set: () => void) => Promise<void>;
  const productChecks = async (shapes: typeof halfShapes, each: (check: Check, ta: boolean, tb: boolean) => Promise<void>) => {
    for (const [label, m, k, nn] of shapes)
      for (const [ta, tb] of transposes) {
        const inputs = [{ values: randn(2 * m * k) }, { values: randn(k * nn) }];
        const args = { aShape: ta ? [2, k, m] : [2, m, k], bShape: tb ? [1, nn, k] : [1, k, nn], transA: ta, transB: tb, outShape: [2, m, nn] };
        const check: Check = (kernel, tileLabel, set) =>
          both(`matmul f16 ${kernel} ${tileLabel} ${label} transA=${ta} transB=${tb} batch [2] x [1]`, inputs, (b, [x, y]) => halfMatmul(kernel, set, (bb) => bb.matmul(x, y, args))(b), 'f32', LIMIT_F16);
        await each(check, ta, tb);
      }
  };
  const coopChecks = (kernel: HalfKernel) => async (check: Check, ta: boolean, tb: boolean) => {
    // the tuner's other candidate: the tiled fallback in the tensor-core kernel's place
    await check(kernel, 'tiled-choice', () => ((g.coopTileOverride = 'tiled'), (g.coopReadsF32 = false), (g.coopTransposes = false)));
    for (const t of g.coopTiles)
      for (const f of forms) {
        if (f.transposes && !ta && !tb) continue; // the same kernel as without
        await check(kernel, `${coopTileName(t)} ${f.name}`, () => ((g.coopTileOverride = t), (g.coopReadsF32 = f.f32), (g.coopTransposes = f.transposes), (g.coopHalfLoads = f.halfLoads)));
      }
  };
  await productChecks(halfShapes, async (check, ta, tb) => {
    await check('tiled', tileName(TILES[0]!), () => (g.halfTileOverride = TILES[0]));
    if (coopKernel === 'coop') await coopChecks('coop')(check, ta, tb);
  });
  if (coopKernel === 'coop-emulated') await productChecks(emulatedShapes, coopChecks('coop-emulated'));
  // under f16 precision a thin product of f32 operands (attention per head) stays f32: the f32 limit
  await both('matmul under f16 precision, thin (24 x 64 @ 64 x 24, batch 6): f32', [{ values: randn(6 * 24 * 64) }, { values: randn(6 * 64 * 24) }], (b, [x, y]) =>
    halfMatmul('tiled', () => {}, (bb) => bb.matmul(x, y, { aShape: [6, 24, 64], bShape: [6, 64, 24], transA: false, transB: false, outShape: [6, 24, 24] }))(b),
  );
  // a weight held in f16, used by a product (x @ W and x @ W^T) in the default precision; by the
  // tensor-core kernel too where it runs only emulated
  for (const kernel of new Set<HalfKernel>([g.halfKernel, ...(coopKernel ? [coopKernel] : [])])) {
    const on = (body: (b: Backend) => unknown) => (b: Backend) => halfMatmul(kernel, () => {}, body)(b);
    for (const tb of [false, true])
      await both(`matmul with a weight held in f16 transB=${tb} (kernel ${kernel})`, [{ values: randn(64 * 96) }, { values: randn(96 * 80) }], (b, [x, w]) =>
        on((bb) => bb.matmul(x, held(bb, w, 96 * 80), { aShape: [64, 96], bShape: tb ? [80, 96] : [96, 80], transA: false, transB: tb, outShape: [64, 80] }))(b), 'f32', LIMIT_F16,
      );
    // its second x @ W^T reads the transpose kept after the first (tensor cores)
    await both(`matmul with a weight held in f16, x @ W^T twice (kernel ${kernel})`, [{ values: randn(64 * 96) }, { values: randn(80 * 96) }], (b, [x, w]) =>
      on((bb) => {
        const args = { aShape: [64, 96], bShape: [80, 96], transA: false, transB: true, outShape: [64, 80] };
        const weight = held(bb, w, 80 * 96);
        bb.free(bb.matmul(x, weight, args));
        return bb.matmul(x, weight, args);
      })(b), 'f32', LIMIT_F16);
  }

  await settle();

  // The world model through the engine: logits of a batch, and the gradient of the targets' log-likelihood w.r.t. one MLP weight.
  const dir = path.resolve(process.env.LOCUS_WORLD_DIR ?? 'data/models/world-gpt2');
  const ids = [
    [12, 845, 77, 301, 9, 3110, 56, 7],
    [400, 23, 23, 1500, 88, 2, 999, 41],
  ];
  const modelRun = async (b: Backend) => {
    const engine = new Engine(b);
    const net = await loadCheckpointDir(engine, dir);
    const started = performance.now();
    const idsT = engine.tensor(Int32Array.from(ids.flat()), [2, 8], 'i32');
    const weight = net.params.get('transformer.h.1.mlp.c_proj.weight')!;
    engine.watch(weight);
    const { logits } = net.forward({ ids: idsT });
    const flat = reshape(logits, [16, net.spec.vocabSize]);
    const targets = engine.tensor(Int32Array.from([...ids.flat().slice(1), 0]), [16], 'i32');
    const loss = sum(takeAlongLast(logSoftmax(flat), targets));
    const [grad] = engine.grad(loss, [weight]);
    const out = { logits: (await logits.values()) as Float32Array, grad: (await grad!.values()) as Float32Array, seconds: (performance.now() - started) / 1000 };
    return out;
  };
  // (skipped when the weights are not there: a call to the GPU machine may leave them out for its size limit)
  if (!only && existsSync(path.join(dir, 'model.safetensors'))) try {
    const c = await modelRun(cpu);
    const g = await modelRun(gpu);
    record('world model logits (2x8 tokens)', relError(g.logits, c.logits), `cpu ${c.seconds.toFixed(3)} s, webgpu ${g.seconds.toFixed(3)} s (first run: compiles pipelines)`);
    record('world model d(log-likelihood)/d(h.1.mlp.c_proj.weight)', relError(g.grad, c.grad));
  } catch (error) {
    rows.push({ check: 'world model', relError: null, ok: false, limit: LIMIT, note: (error as Error).message.split('\n')[0] });
    console.log(JSON.stringify(rows.at(-1)));
  }

  // f32 matmul speed: square products, then the products of a GPT-2 XL-size forward and backward at
  // 8 x 64 tokens (M = 512), each with every tile (the tuner's choice is the fastest of them).
  const square = (process.env.LOCUS_MATMUL_SIZES ?? '1024,2048,4096').split(',').filter(Boolean).map(Number);
  const shapes: [string, number, number, number, boolean, boolean][] = [
    ...square.map((s): [string, number, number, number, boolean, boolean] => [`${s}^3`, s, s, s, false, false]),
    ...(square.length && process.env.LOCUS_MATMUL_XL !== '0'
      ? ([
          ['xl attn qkv 512x1600 @ 1600x4800', 512, 4800, 1600, false, false],
          ['xl attn out 512x1600 @ 1600x1600', 512, 1600, 1600, false, false],
          ['xl mlp fc 512x1600 @ 1600x6400', 512, 6400, 1600, false, false],
          ['xl mlp proj 512x6400 @ 6400x1600', 512, 1600, 6400, false, false],
          ['xl lm head 512x1600 @ (50257x1600)^T', 512, 50257, 1600, false, true],
          ['xl backward mlp proj dX 512x1600 @ (6400x1600)^T', 512, 6400, 1600, false, true],
        ] as [string, number, number, number, boolean, boolean][])
      : []),
  ];
  const speed: { shape: string; tflops: Record<string, number> }[] = [];
  const halfSpeed: { shape: string; tflops: Record<string, number> }[] = [];
  const reps = Number(process.env.LOCUS_MATMUL_REPS ?? 20);
  // Several products and one wait for the GPU: the time per product, submission included.
  const timeIt = async (run: () => unknown) => {
    gpu.free(run()); // compiles the pipeline
    await g.sync();
    const t = performance.now();
    const outs = Array.from({ length: reps }, run);
    await g.sync();
    const seconds = (performance.now() - t) / 1000 / reps;
    outs.forEach((o) => gpu.free(o));
    return seconds;
  };
  for (const [label, m, nn, k, ta, tb] of only ? [] : shapes) {
    try {
      const a = gpu.upload(randn(m * k), 'f32');
      const bb = gpu.upload(randn(k * nn), 'f32');
      const args = { aShape: ta ? [k, m] : [m, k], bShape: tb ? [nn, k] : [k, nn], transA: ta, transB: tb, outShape: [m, nn] };
      const flops = 2 * m * nn * k;
      const tflops: Record<string, number> = {};
      for (const tile of TILES) {
        g.tileOverride = tile;
        tflops[tileName(tile)] = flops / (await timeIt(() => gpu.matmul(a, bb, args))) / 1e12;
      }
      g.tileOverride = undefined;
      speed.push({ shape: label, tflops });
      console.log(JSON.stringify({ bench: `matmul f32 ${label}`, reps, tflops }));
      // f16: both operands held in f16 (packed once, as weights would be), f32 accumulation and output
      g.holdInF16(a);
      g.holdInF16(bb);
      const half: Record<string, number> = {};
      const saved = g.halfKernel;
      if (coop) {
        g.halfKernel = 'coop';
        for (const t of g.coopTiles) {
          g.coopTileOverride = t;
          half[coopTileName(t)] = flops / (await timeIt(() => gpu.matmul(a, bb, args))) / 1e12;
        }
        g.coopTileOverride = undefined;
      }
      g.halfKernel = 'tiled';
      g.halfTileOverride = TILES[0];
      half[`tiled ${tileName(TILES[0]!)}`] = flops / (await timeIt(() => gpu.matmul(a, bb, args))) / 1e12;
      g.halfTileOverride = undefined;
      g.halfKernel = saved;
      halfSpeed.push({ shape: label, tflops: half });
      console.log(JSON.stringify({ bench: `matmul f16 ${label}`, reps, tflops: half }));
      gpu.free(a);
      gpu.free(bb);
    } catch (error) {
      g.tileOverride = undefined;
      g.coopTileOverride = undefined;
      g.halfTileOverride = undefined;
      console.log(JSON.stringify({ bench: `matmul ${label}`, error: (error as Error).message }));
    }
  }
  const table = (title: string, list: { shape: string; tflops: Record<string, number> }[]) => {
    if (!list.length) return;
    const names = Object.keys(list[0]!.tflops);
    console.log(`\n| ${title} | ${names.join(' | ')} | best |\n|---|${names.map(() => '---|').join('')}---|`);
    for (const { shape, tflops } of list) {
      const values = names.map((t) => tflops[t] ?? 0);
      console.log(`| ${shape} | ${values.map((v) => v.toFixed(2)).join(' | ')} | ${Math.max(...values).toFixed(2)} |`);
    }
  };
  table(`f32 matmul TFLOP/s (${reps} products per timing)`, speed);
  table(`f16 matmul TFLOP/s (f32 accumulate; ${reps} products per timing)`, halfSpeed);
  (gpu as WebGpuBackend).trim();

  console.log('\n| check | relative error | limit | ok |\n|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.check} | ${r.relError === null ? r.note : r.relError.toExponential(2)} | ${r.limit} | ${r.ok ? 'yes' : 'NO'} |`);
  console.log(`\n${rows.filter((r) => r.ok).length} of ${rows.length} checks within their limits (${LIMIT} f32, ${LIMIT_F16} f16)`);
  // exit (the GPU device would keep the process alive) once stdout has taken everything: into a pipe
  // the writes are asynchronous, and an exit before they finish cuts the table off
  await new Promise((resolve) => process.stdout.write('', resolve));
  process.exit(0);
}

if (process.argv.includes('--coop-tiles')) console.log(COOP_TILES.map(coopTileName).join(' '));
else main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
