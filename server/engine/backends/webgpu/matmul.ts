/**
 * The tiled f32 matmul kernels of the WebGPU backend, generated for a family of tile shapes, and the
 * choice among them per product shape.
 *
 * One kernel: each workgroup of WX x WY invocations computes a BM x BN tile of y (BM = WY·TM,
 * BN = WX·TN), each invocation TM x TN outputs in TM·TN/4 vec4 registers: rows g·4WY + 4ly + i
 * and columns h·4WX + 4lx + j, so its reads of the staged tiles are vec4s that neighbouring
 * invocations share (broadcasts) or take side by side. a's and b's BK-deep slices are staged in two
 * workgroup buffers each: while one is read, the next slice's global loads are in flight in
 * registers and land in the other, so a step waits at one barrier, not two. The code is unrolled
 * here (no dynamically indexed locals: the shader compilers we run on spill them to memory).
 * Interior slices load without bounds checks; edge slices check and pad with zeros, so any M, N, K
 * work. Every tile shape sums k in the same order, so all give bit-identical results: the choice is
 * about speed only.
 *
 * Which tile is fastest depends on the product: a 128x128 tile does the most work per load, but a
 * 512 x 1600 product (GPT-2 XL's attention output at 8 x 64 tokens) makes only 52 such tiles, fewer
 * than the H100's 132 multiprocessors. The backend times the candidates on the first product of
 * each shape (`MatmulTuner`) where the driver can wait in place, and otherwise takes `defaultTile`.
 * prm: [M, N, K, transA, transB, batch rank, batch shape, a batch strides, b batch strides].
 */

export interface MatmulTile {
  /** Outputs per invocation: rows, columns (multiples of 4). */
  tm: number;
  tn: number;
  /** Invocations per workgroup along columns (x) and rows (y). */
  wx: number;
  wy: number;
  /** Depth of the staged slices. */
  bk: number;
}

export const tileName = (t: MatmulTile) => `${t.wy * t.tm}x${t.wx * t.tn}k${t.bk}t${t.tm}x${t.tn}${t.wx * t.wy === 256 ? '' : `i${t.wx * t.wy}`}`;
/** The pipeline cache key of a tiled kernel (`half`: operands packed as f16 pairs, see ./half.ts). */
export const tiledKey = (t: MatmulTile, transA: boolean, transB: boolean, half = false) => `matmul${half ? '-f16' : ''}:${tileName(t)}:${transA}:${transB}`;
export const tileRows = (t: MatmulTile) => t.wy * t.tm;
export const tileCols = (t: MatmulTile) => t.wx * t.tn;

/**
 * The candidates the tuner times (each one's loads divide evenly among its invocations). Measured
 * at 4096^3 on the H200 (2026-12-04): 64x128k16 30.5 TFLOP/s, 128x64k16 29.0, 64x64 24.4, 128x64
 * with 128 invocations 22.6, 128x128k8 13.6; 128x128k16 (3.8) is no longer a candidate.
 */
export const TILES: readonly MatmulTile[] = [
  { tm: 4, tn: 8, wx: 16, wy: 16, bk: 16 }, // 64x128
  { tm: 8, tn: 4, wx: 16, wy: 16, bk: 16 }, // 128x64
  { tm: 4, tn: 4, wx: 16, wy: 16, bk: 16 }, // 64x64
  { tm: 4, tn: 8, wx: 16, wy: 16, bk: 32 }, // 64x128, deeper slices (48 KiB of workgroup memory)
  { tm: 8, tn: 4, wx: 16, wy: 16, bk: 32 }, // 128x64, deeper slices
  { tm: 8, tn: 8, wx: 16, wy: 16, bk: 8 }, // 128x128
  { tm: 8, tn: 8, wx: 8, wy: 16, bk: 16 }, // 128x64 with 128 invocations
];

/**
 * Without timings: the first of TILES (fastest first) whose tile fits the product (each side at
 * most the product's, rounded up to 64) and leaves at least `minGroups` workgroups; else 64x64. A
 * 64 x 64 product per head (attention) took a 128x128 tile before, three quarters of it padding.
 */
export function defaultTile(m: number, n: number, batch: number, minGroups = 128): MatmulTile {
  const up = (v: number) => Math.ceil(v / 64) * 64;
  const groups = (t: MatmulTile) => Math.ceil(m / tileRows(t)) * Math.ceil(n / tileCols(t)) * batch;
  const fits = (t: MatmulTile) => tileRows(t) <= up(m) && tileCols(t) <= up(n);
  return TILES.slice(0, 3).find((t) => fits(t) && groups(t) >= minGroups) ?? TILES[2]!;
}

/**
 * `half`: a and b hold f16 values packed two to a u32 word (./half.ts) and are widened to f32 as
 * they are loaded: the f16-input / f32-accumulate product where the adapter has no cooperative
 * matrices (the fallback of ./half.ts's tensor-core kernel), on any adapter (no shader-f16 needed).
 */
export function tiledMatmulKernel(tile: MatmulTile, transA: boolean, transB: boolean, half = false): string {
  const { tm, tn, wx, wy, bk } = tile;
  const BM = wy * tm;
  const BN = wx * tn;
  const T = wx * wy;
  const [aq, bq] = [(bk * BM) / 4 / T, (bk * BN) / 4 / T]; // vec4 loads per invocation
  if (!Number.isInteger(aq) || !Number.isInteger(bq) || tm % 4 || tn % 4) throw new Error(`matmul tile ${tileName(tile)} does not divide its loads evenly`);
  const G = tm / 4;
  const H = tn / 4;
  const XYZW = ['x', 'y', 'z', 'w'];
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const ld = (x: 'a' | 'b', index: string) => (half ? `h${x}(${index})` : `${x}[${index}]`);

  // Slot e of a's slice is 4 rows at one k; neighbouring invocations take neighbouring words in memory.
  const loadA = (q: number, checked: boolean) => {
    const e = `(t + ${q * T}u)`;
    const [r4, kk] = transA ? [`${e} % ${BM / 4}u`, `${e} / ${BM / 4}u`] : [`${e} / ${bk}u`, `${e} % ${bk}u`];
    const at = (i: number) => (transA ? ld('a', `oa + k * M + r + ${i}u`) : ld('a', `oa + (r + ${i}u) * K + k`));
    const body = checked
      ? `if (k < K) { ${range(4).map((i) => `if (r + ${i}u < M) { pa${q}[${i}] = ${at(i)}; }`).join(' ')} }`
      : `pa${q} = vec4<f32>(${range(4).map(at).join(', ')});`;
    return `{ let r = row0 + (${r4}) * 4u; let k = k0 + ${kk}; pa${q} = vec4<f32>(); ${body} }`;
  };
  const loadB = (q: number, checked: boolean) => {
    const e = `(t + ${q * T}u)`;
    const [c4, kk] = transB ? [`${e} / ${bk}u`, `${e} % ${bk}u`] : [`${e} % ${BN / 4}u`, `${e} / ${BN / 4}u`];
    const at = (i: number) => (transB ? ld('b', `ob + (c + ${i}u) * K + k`) : ld('b', `ob + k * N + c + ${i}u`));
    const body = checked
      ? `if (k < K) { ${range(4).map((i) => `if (c + ${i}u < N) { pb${q}[${i}] = ${at(i)}; }`).join(' ')} }`
      : `pb${q} = vec4<f32>(${range(4).map(at).join(', ')});`;
    return `{ let c = col0 + (${c4}) * 4u; let k = k0 + ${kk}; pb${q} = vec4<f32>(); ${body} }`;
  };
  // Where slot e's vec4 sits in the staged slice ([k][m/4] and [k][n/4]).
  const stageA = (q: number) => {
    const e = `(t + ${q * T}u)`;
    const [r4, kk] = transA ? [`${e} % ${BM / 4}u`, `${e} / ${BM / 4}u`] : [`${e} / ${bk}u`, `${e} % ${bk}u`];
    return `As[buf * ${(bk * BM) / 4}u + (${kk}) * ${BM / 4}u + ${r4}] = pa${q};`;
  };
  const stageB = (q: number) => {
    const e = `(t + ${q * T}u)`;
    const [c4, kk] = transB ? [`${e} / ${bk}u`, `${e} % ${bk}u`] : [`${e} % ${BN / 4}u`, `${e} / ${BN / 4}u`];
    return `Bs[buf * ${(bk * BN) / 4}u + (${kk}) * ${BN / 4}u + ${c4}] = pb${q};`;
  };
  // The next slice's loads: unchecked when the whole slice is inside a and b.
  const loads = () => `if (k0 + ${bk}u <= K && fullA) { ${range(aq).map((q) => loadA(q, false)).join(' ')} } else { ${range(aq).map((q) => loadA(q, true)).join(' ')} }
    if (k0 + ${bk}u <= K && fullB) { ${range(bq).map((q) => loadB(q, false)).join(' ')} } else { ${range(bq).map((q) => loadB(q, true)).join(' ')} }`;
  const stage = () => [...range(aq).map(stageA), ...range(bq).map(stageB)].join(' ');
  const acc = (g: number, i: number, h: number) => `c${g}_${i}_${h}`;
  const fmas = range(G)
    .flatMap((g) => range(4).flatMap((i) => range(H).map((h) => `${acc(g, i, h)} = fma(vec4<f32>(a${g}.${XYZW[i]}), b${h}, ${acc(g, i, h)});`)))
    .join('\n      ');
  const stores = range(G)
    .flatMap((g) =>
      range(4).map((i) => {
        const cols = range(H).flatMap((h) => range(4).map((j) => `{ let c = col0 + ${h * wx * 4 + j}u + lx * 4u; if (c < N) { y[base + r * N + c] = ${acc(g, i, h)}.${XYZW[j]}; } }`));
        return `{ let r = row0 + ${g * wy * 4 + i}u + ly * 4u; if (r < M) { ${cols.join(' ')} } }`;
      }),
    )
    .join('\n  ');
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> prm: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<${half ? 'u32' : 'f32'}>;
@group(0) @binding(2) var<storage, read> b: array<${half ? 'u32' : 'f32'}>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;${
    half
      ? `
fn ha(i: u32) -> f32 { let w = unpack2x16float(a[i >> 1u]); return select(w.x, w.y, (i & 1u) == 1u); }
fn hb(i: u32) -> f32 { let w = unpack2x16float(b[i >> 1u]); return select(w.x, w.y, (i & 1u) == 1u); }`
      : ''
  }
var<workgroup> As: array<vec4<f32>, ${(2 * bk * BM) / 4}>; // two slices of [k][m/4]
var<workgroup> Bs: array<vec4<f32>, ${(2 * bk * BN) / 4}>; // two slices of [k][n/4]
@compute @workgroup_size(${wx}, ${wy})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let M = prm[0]; let N = prm[1]; let K = prm[2];
  let br = prm[5];
  var rem = wg.z;
  var oa = 0u;
  var ob = 0u;
  for (var d = i32(br) - 1; d >= 0; d--) {
    let ud = u32(d);
    let size = prm[6u + ud];
    let idx = rem % size;
    rem = rem / size;
    oa += idx * prm[6u + br + ud];
    ob += idx * prm[6u + 2u * br + ud];
  }
  let row0 = wg.y * ${BM}u;
  let col0 = wg.x * ${BN}u;
  let fullA = row0 + ${BM}u <= M;
  let fullB = col0 + ${BN}u <= N;
  let lx = lid.x;
  let ly = lid.y;
  ${range(G)
    .flatMap((g) => range(4).flatMap((i) => range(H).map((h) => `var ${acc(g, i, h)} = vec4<f32>();`)))
    .join(' ')}
  ${range(aq).map((q) => `var pa${q}: vec4<f32>;`).join(' ')} ${range(bq).map((q) => `var pb${q}: vec4<f32>;`).join(' ')}
  var k0 = 0u;
  var buf = 0u;
  ${loads()}
  ${stage()}
  workgroupBarrier();
  for (var step = 0u; step < K; step += ${bk}u) {
    let cur = buf;
    k0 = step + ${bk}u;
    let more = k0 < K;
    if (more) {
      ${loads()}
    }
    for (var k = 0u; k < ${bk}u; k++) {
      ${range(G).map((g) => `let a${g} = As[cur * ${(bk * BM) / 4}u + k * ${BM / 4}u + ${g * wy}u + ly];`).join(' ')}
      ${range(H).map((h) => `let b${h} = Bs[cur * ${(bk * BN) / 4}u + k * ${BN / 4}u + ${h * wx}u + lx];`).join(' ')}
      ${fmas}
    }
    if (more) {
      buf = 1u - cur;
      ${stage()}
    }
    workgroupBarrier();
  }
  let base = wg.z * M * N;
  ${stores}
}`;
}

/**
 * Times the candidate tiles on the first product of each shape and remembers the fastest. `time`
 * runs one candidate on the real operands and returns its seconds (waiting for the GPU); the
 * backend supplies it because only it can dispatch and wait. One tuner per kernel family (f32
 * tiles, f16 tiles, tensor-core tiles), each with its candidates and their names.
 */
export class MatmulTuner<T = MatmulTile> {
  private readonly chosen = new Map<string, T>();
  /** What was timed, for the benchmark's table: shape key -> seconds per candidate. */
  readonly log: { shape: string; seconds: Record<string, number>; chosen: string }[] = [];

  constructor(
    private readonly candidates: readonly T[] = TILES as unknown as readonly T[],
    private readonly name: (t: T) => string = tileName as unknown as (t: T) => string,
  ) {}

  /** `allowed`: the candidates this shape may take (all by default; `shape` must say which). */
  choose(shape: string, time: (tile: T) => number, allowed: (tile: T) => boolean = () => true): T {
    const known = this.chosen.get(shape);
    if (known) return known;
    const seconds: Record<string, number> = {};
    const candidates = this.candidates.filter(allowed);
    let best: T = candidates[0]!;
    let bestTime = Infinity;
    for (const tile of candidates) {
      time(tile); // first run: compiles the pipeline, warms caches
      const s = Math.min(time(tile), time(tile));
      seconds[this.name(tile)] = s;
      if (s < bestTime) [best, bestTime] = [tile, s];
    }
    this.chosen.set(shape, best);
    this.log.push({ shape, seconds, chosen: this.name(best) });
    return best;
  }
}
