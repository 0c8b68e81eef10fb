/**
 * f16-input / f32-accumulate matrix products of the WebGPU backend (issue 5).
 *
 * Operands are packed f16: two values to a u32 word, element i in word i/2 (low half first), rounded
 * from f32 to nearest-even by `PACK_F16` in integer arithmetic (no driver rounding mode involved).
 * Two kernels take them, both writing f32:
 * - `coopMatmulKernel`: tensor cores through cooperative matrices (WGSL `wgpu_cooperative_matrix`,
 *   SPIR-V KHR cooperative matrices), 16x16x16 f16 -> f32 fragments. Chosen where the adapter offers
 *   that shape (`hasCoopF16`).
 * - the fallback: ./matmul.ts's tiled f32 kernel with loads that widen packed f16 (`half`), on any
 *   adapter. Lavapipe (the dev machine's and CI's Vulkan) has no cooperative matrices, so this one
 *   is what runs there, and what the tests check there.
 *
 * The tensor-core kernel: a workgroup computes a BM x BN tile of y with BM/WM x BN/WN subgroups of
 * 32 invocations, each WM x WN in (WM/16) x (WN/16) accumulator fragments. a's and b's BK-deep
 * slices are staged in workgroup memory in their global orientation (so global reads stay
 * contiguous), in rows padded by 8 halves (against bank conflicts), two buffers deep: the
 * next slice's global loads (16 bytes = 8 halves each) are in flight in registers while the
 * fragments of the current one are multiplied. A transposed operand is either transposed first
 * (`TRANSPOSE_F16`, one pass over it) or, with `CoopForm.transA`/`transB`, transposed as its pieces
 * are written into the slice (LOCUS_WGPU_COOP_TRANSPOSE=1, see index.ts). Fragment loads in
 * column-major order (the first version read transposed operands that way) did not compile on the
 * H200's driver (NVVM, 2026-12-07), and in wgpu a pipeline that fails to compile loses the device, so
 * that form is not generated at all. Nor did fragments loaded as f16 through u32 pointers (the slices were
 * vec4<u32> arrays; bench/webgpu/coop-probe.ts on the H100, 2026-12-07: that form fails in NVVM, f16
 * arrays in storage or workgroup memory compile and are exact), so the slices are f16 arrays,
 * each staged piece written a half at a time. Rows of a whole tile inside y whose width keeps
 * 16-byte alignment are stored straight from the fragments; edge tiles go through a per-subgroup
 * 16x16 f32 buffer and per-element bounds checks. Operands whose contiguous extent is not a
 * multiple of 8 (so 16-byte loads would straddle rows) are loaded a half at a time (`vecA`/`vecB`
 * false). K is summed in 16-wide fragments in order, the f32 accumulation of the tensor cores.
 *
 * prm (both kernels): [M, N, K, transA, transB, batch rank, batch shape, a batch strides, b batch
 * strides], strides in elements (halves), as the f32 kernels take them (the tensor-core kernel
 * ignores the transposes: its form says them).
 */

export interface CoopTile {
  bm: number;
  bn: number;
  bk: number;
  /** One subgroup's part of the tile. */
  wm: number;
  wn: number;
}

export const coopTileName = (t: CoopTile) => `coop${t.bm}x${t.bn}k${t.bk}w${t.wm}x${t.wn}`;

/** The candidates the tuner times for the tensor-core kernel. */
export const COOP_TILES: readonly CoopTile[] = [
  { bm: 128, bn: 128, bk: 32, wm: 64, wn: 32 }, // 8 subgroups
  { bm: 128, bn: 128, bk: 32, wm: 64, wn: 64 }, // 4 subgroups, 16 fragments each
  { bm: 128, bn: 64, bk: 32, wm: 64, wn: 32 }, // 4 subgroups
  { bm: 64, bn: 64, bk: 32, wm: 32, wn: 32 }, // 4 subgroups: more workgroups for thin products
];

/** The shape the tensor-core kernel needs, as the addon names it ("MxNxK A->C"). */
export const COOP_SHAPE = '16x16x16 F16->F32';

/** Whether an adapter (its features and cooperative-matrix shapes) can run `coopMatmulKernel`. */
export function hasCoopF16(features: readonly string[], cooperativeMatrices: readonly string[]): boolean {
  return features.includes('SHADER_F16') && cooperativeMatrices.includes(COOP_SHAPE);
}

/** Without timings: the largest tile that fits the product (each side at most the product's,
 * rounded up to 64) and leaves at least `minGroups` workgroups, else the smallest. */
export function defaultCoopTile(m: number, n: number, batch: number, minGroups = 132, tiles: readonly CoopTile[] = COOP_TILES): CoopTile {
  const up = (v: number) => Math.ceil(v / 64) * 64;
  const groups = (t: CoopTile) => Math.ceil(m / t.bm) * Math.ceil(n / t.bn) * batch;
  return tiles.find((t) => t.bm <= up(m) && t.bn <= up(n) && groups(t) >= minGroups) ?? tiles[tiles.length - 1]!;
}

/** f32 bits -> f16 bits, rounded to nearest-even in integer arithmetic (as the CPU backend rounds). */
const HALF_BITS = /* wgsl */ `
fn half_bits(b: u32) -> u32 {
  let sign = (b >> 16u) & 0x8000u;
  let mag = b & 0x7fffffffu;
  if (mag >= 0x7f800000u) { return sign | 0x7c00u | select(0u, 0x200u, mag > 0x7f800000u); } // inf, nan
  if (mag < 0x38800000u) { return sign | u32(round(bitcast<f32>(mag) * 16777216.0)); } // subnormal (or 0, or 2^-14 after rounding)
  let r = (mag + 0xfffu + ((mag >> 13u) & 1u)) & 0xffffe000u; // nearest-even at f16's 10 mantissa bits
  if (r > 0x477fe000u) { return sign | 0x7c00u; } // past 65504
  return sign | (((r >> 23u) - 112u) << 10u) | ((r >> 13u) & 0x3ffu);
}
`;

/** f32 -> packed f16 (HALF_BITS). One invocation per output word. prm: [n (f32 elements)] */
export const PACK_F16 = /* wgsl */ `
@group(0) @binding(0) var<storage, read> prm: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;
${HALF_BITS}@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = gid.x + gid.y * nwg.x * 256u;
  let n = prm[0];
  if (2u * w >= n) { return; }
  let lo = half_bits(x[2u * w]);
  var hi = 0u;
  if (2u * w + 1u < n) { hi = half_bits(x[2u * w + 1u]); }
  y[w] = lo | (hi << 16u);
}`;

/**
 * Transposes packed f16 matrices: `count` row-major [rows, cols] matrices, one after the other in
 * halves, into [cols, rows] ones. One invocation per output word (two halves).
 * prm: [n (halves in all), rows, cols]
 */
export const TRANSPOSE_F16 = /* wgsl */ `
@group(0) @binding(0) var<storage, read> prm: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;
fn source(e: u32) -> u32 {
  let rows = prm[1]; let cols = prm[2];
  let size = rows * cols;
  let r = e % size;
  // output (i, j) of [cols, rows] is input (j, i)
  let s = (e - r) + (r % rows) * cols + r / rows;
  return (x[s >> 1u] >> ((s & 1u) * 16u)) & 0xffffu;
}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = gid.x + gid.y * nwg.x * 256u;
  let n = prm[0];
  if (2u * w >= n) { return; }
  var hi = 0u;
  if (2u * w + 1u < n) { hi = source(2u * w + 1u); }
  y[w] = source(2u * w) | (hi << 16u);
}`;

/** packed f16 -> f32 (exact). prm: [n (elements)] */
export const UNPACK_F16 = /* wgsl */ `
@group(0) @binding(0) var<storage, read> prm: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= prm[0]) { return; }
  let w = unpack2x16float(x[i >> 1u]);
  y[i] = select(w.x, w.y, (i & 1u) == 1u);
}`;

/** Gather along an axis from packed f16 into f32. prm: [n (output size), count, dim, inner] */
export const GATHER_F16 = /* wgsl */ `
@group(0) @binding(0) var<storage, read> prm: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= prm[0]) { return; }
  let count = prm[1]; let dim = prm[2]; let inner = prm[3];
  let e = i % inner;
  let j = (i / inner) % count;
  let o = i / (inner * count);
  let row = u32(clamp(idx[j], 0, i32(dim) - 1));
  let s = (o * dim + row) * inner + e;
  let w = unpack2x16float(x[s >> 1u]);
  y[i] = select(w.x, w.y, (s & 1u) == 1u);
}`;

/**
 * How a tensor-core product reads its operands. `vecA`: a's contiguous extent (K row-major, M
 * transposed) and batch strides are multiples of 8, so its slices load in 16-byte pieces; likewise
 * `vecB` (N row-major, K transposed). `f32A`/`f32B`: the operand is f32, rounded to f16 as it is
 * staged (no packing pass). `transA`/`transB`: the operand is stored transposed and is transposed as
 * it is staged (no transposing pass). `halfLoads`: packed operands are read as f16 (vec4<f16>, or
 * f16 one at a time) and staged as they are, instead of as u32 words whose halves are widened to f32
 * and converted back one by one; f32 operands are rounded by the GPU's conversion (vec4<f16>(v))
 * instead of HALF_BITS's integer arithmetic: fewer instructions per staged half. (Naga cannot bitcast
 * a u32 to vec2<f16>, so the words cannot be split without the round trip.)
 */
export interface CoopForm {
  vecA: boolean;
  vecB: boolean;
  f32A?: boolean;
  f32B?: boolean;
  transA?: boolean;
  transB?: boolean;
  halfLoads?: boolean;
}

/** The pipeline cache key of a tensor-core kernel (`emulated`: see `coopMatmulKernel`). */
export function coopKey(t: CoopTile, form: CoopForm, emulated = false): string {
  const flags = (x: 'a' | 'b', a?: boolean, b?: boolean) => (a || b ? `:${x === 'a' ? 'f32' : 't'}${a ? 'a' : ''}${b ? 'b' : ''}` : '');
  return `matmul-coop:${coopTileName(t)}:${form.vecA}:${form.vecB}${flags('a', form.f32A, form.f32B)}${flags('b', form.transA, form.transB)}${form.halfLoads ? ':h' : ''}${emulated ? ':emulated' : ''}`;
}

/**
 * The tensor-core kernel for one tile shape and operand form. `emulated`: the same kernel (global
 * loads, staging, fragment offsets, bounds) with each fragment product computed by its subgroup's
 * invocations in scalar f32 arithmetic instead of cooperative matrices, so that everything but the
 * tensor-core instructions runs, and is checked, on an adapter without them (lavapipe in CI).
 */
export function coopMatmulKernel(tile: CoopTile, form: CoopForm, emulated = false): string {
  const { bm, bn, bk, wm, wn } = tile;
  const sgm = bm / wm;
  const sgn = bn / wn;
  const T = sgm * sgn * 32;
  const fm = wm / 16;
  const fn = wn / 16;
  if (!Number.isInteger(sgm) || !Number.isInteger(sgn) || wm % 16 || wn % 16 || bk % 16) throw new Error(`cooperative tile ${coopTileName(tile)} does not divide into 16x16 fragments`);
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  // Per operand: the staged slice, R x C halves in rows of C+8 (a: [BM][BK+8] over m, k; b:
  // [BK][BN+8] over k, n); the matrix's extents along the slice's rows and columns; its form.
  const op = (x: 'a' | 'b') => {
    const a = x === 'a';
    const [R, C] = a ? [bm, bk] : [bk, bn];
    return {
      R,
      C,
      ld: C + 8,
      halves: R * (C + 8),
      rowsExt: a ? 'M' : 'K',
      colsExt: a ? 'K' : 'N',
      off: a ? 'oa' : 'ob',
      S: a ? 'As' : 'Bs',
      vec: a ? form.vecA : form.vecB,
      f32: (a ? form.f32A : form.f32B) ?? false,
      trans: (a ? form.transA : form.transB) ?? false,
      // the slice's (row, column) origin in the matrix
      origin: a ? ['row0', 'k0'] : ['k0', 'col0'],
    };
  };
  const A = op('a');
  const B = op('b');
  const halfLoads = form.halfLoads ?? false;
  // 8-half pieces of a slice, per invocation
  const aq = (A.R * A.C) / 8 / T;
  const bq = (B.R * B.C) / 8 / T;
  if (!Number.isInteger(aq) || !Number.isInteger(bq)) throw new Error(`cooperative tile ${coopTileName(tile)} does not divide its loads evenly`);

  // A piece is 8 halves contiguous in memory. Row-major: along a slice row; neighbouring invocations
  // take neighbouring pieces of a row (coalesced reads). Transposed (the matrix stored [C-ext][R-ext]):
  // along a slice column; neighbouring invocations take neighbouring columns, so their staging writes
  // fall in neighbouring halves (a row's 8 pieces side by side would hit one memory bank 8 times).
  const where = (o: ReturnType<typeof op>, q: number) => {
    const e = `(t + ${q * T}u)`;
    return o.trans ? { r: `(${e} / ${o.C}u) * 8u`, c: `${e} % ${o.C}u` } : { r: `${e} / ${o.C / 8}u`, c: `(${e} % ${o.C / 8}u) * 8u` };
  };
  const piece = (x: 'a' | 'b', q: number) => {
    const o = x === 'a' ? A : B;
    const { r, c } = where(o, q);
    const reg = `p${x}${q}`;
    // global row/column of the piece's first half, and its index in the operand's storage
    const head = `let gr = ${o.origin[0]} + ${r}; let gc = ${o.origin[1]} + ${c}; let i0 = ${o.off} + ${o.trans ? `gc * ${o.rowsExt} + gr` : `gr * ${o.colsExt} + gc`};`;
    // half j of the piece is inside the matrix (with `vec`, the whole piece is in or out)
    const inside = (j: number) => (o.trans ? `gc < ${o.colsExt} && gr + ${j}u < ${o.rowsExt}` : `gr < ${o.rowsExt} && gc + ${j}u < ${o.colsExt}`);
    if (halfLoads) {
      // the piece as two vec4<f16> registers: 16-byte operands as two 8-byte (f16) or 16-byte (f32)
      // loads, others a checked half at a time
      const [lo, hi] = [`${reg}l`, `${reg}h`];
      const wide = (i: string) => (o.f32 ? `vec4<f16>(${x}f4[${i}])` : `${x}h4[${i}]`);
      if (o.vec) return `{ ${head} ${lo} = vec4<f16>(); ${hi} = vec4<f16>(); if (${inside(0)}) { ${lo} = ${wide('i0 / 4u')}; ${hi} = ${wide('i0 / 4u + 1u')}; } }`;
      const one = (j: number) => `if (${inside(j)}) { ${j < 4 ? lo : hi}.${'xyzw'[j % 4]} = ${o.f32 ? `f16(${x}f[i0 + ${j}u])` : `${x}hs[i0 + ${j}u]`}; }`;
      return `{ ${head} ${lo} = vec4<f16>(); ${hi} = vec4<f16>(); ${range(8).map(one).join(' ')} }`;
    }
    if (o.vec && o.f32) {
      // 8 f32 values as two vec4s, rounded to f16 here (no packing pass before the product)
      const h = (v: string) => `half_bits(${v})`;
      return `{ ${head} ${reg} = vec4<u32>(); if (${inside(0)}) { let v0 = ${x}f4[i0 / 4u]; let v1 = ${x}f4[i0 / 4u + 1u];
      ${reg} = vec4<u32>(${h('v0.x')} | (${h('v0.y')} << 16u), ${h('v0.z')} | (${h('v0.w')} << 16u), ${h('v1.x')} | (${h('v1.y')} << 16u), ${h('v1.z')} | (${h('v1.w')} << 16u)); } }`;
    }
    if (o.vec) return `{ ${head} ${reg} = vec4<u32>(); if (${inside(0)}) { ${reg} = ${x}v[i0 / 8u]; } }`;
    // a half at a time: 8 checked loads, packed two to a word
    const halves = range(8)
      .map((j) => `if (${inside(j)}) { h${j} = ${x}h(i0 + ${j}u); }`)
      .join(' ');
    return `{ ${head} var h0 = 0u; var h1 = 0u; var h2 = 0u; var h3 = 0u; var h4 = 0u; var h5 = 0u; var h6 = 0u; var h7 = 0u; ${halves}
      ${reg} = vec4<u32>(h0 | (h1 << 16u), h2 | (h3 << 16u), h4 | (h5 << 16u), h6 | (h7 << 16u)); }`;
  };
  const stage = (x: 'a' | 'b', q: number) => {
    const o = x === 'a' ? A : B;
    const { r, c } = where(o, q);
    const reg = `p${x}${q}`;
    // the 8 halves of a piece, each written as an f16 (the slices are f16 arrays: see below): along
    // the slice row, or down the slice column (transposed)
    const at = (j: number) => (o.trans ? (j ? `o + ${j * o.ld}u` : 'o') : j ? `o + ${j}u` : 'o');
    const writes = halfLoads
      ? range(8)
          .map((j) => `${o.S}[${at(j)}] = ${reg}${j < 4 ? 'l' : 'h'}.${'xyzw'[j % 4]};`)
          .join(' ')
      : range(4)
          .map((w) => `let w${w} = unpack2x16float(${reg}.${'xyzw'[w]}); ${o.S}[${at(2 * w)}] = f16(w${w}.x); ${o.S}[${at(2 * w + 1)}] = f16(w${w}.y);`)
          .join(' ');
    return `{ let o = buf * ${o.halves}u + (${r}) * ${o.ld}u + ${c}; ${writes} }`;
  };
  const loads = () => [...range(aq).map((q) => piece('a', q)), ...range(bq).map((q) => piece('b', q))].join('\n    ');
  const stages = () => [...range(aq).map((q) => stage('a', q)), ...range(bq).map((q) => stage('b', q))].join('\n    ');

  // Fragment offsets in the staged slices (halves; row strides sa, sb). a's fragment (i, kk): rows
  // sr*WM + 16i, k kk; b's (kk, j): k kk, columns sc*WN + 16j.
  // (i, j: numbers, or the emulated kernel's loop variables)
  const u = (v: number | string) => (typeof v === 'number' ? `${16 * v}u` : `16u * ${v}`);
  const offA = (i: number | string) => `let oa${typeof i === 'number' ? i : ''} = cur * ${A.halves}u + (sr * ${wm}u + ${u(i)}) * ${A.ld}u + kk;`;
  const offB = (j: number | string) => `let ob${typeof j === 'number' ? j : ''} = cur * ${B.halves}u + kk * ${B.ld}u + sc * ${wn}u + ${u(j)};`;
  const acc = (i: number, j: number) => `c${i}_${j}`;
  // Fragment (i, j)'s element (r, c), of the output: row and column
  const outRow = (i: number | string, r: string) => `row0 + sr * ${wm}u + ${u(i)} + ${r}`;
  const outCol = (j: number | string, c: string) => `col0 + sc * ${wn}u + ${u(j)} + ${c}`;
  const pairs = range(fm).flatMap((i) => range(fn).map((j) => [i, j] as const));

  let accumulators: string;
  let multiply: string;
  let store: string;
  if (!emulated) {
    accumulators = pairs.map(([i, j]) => `var ${acc(i, j)} = coop_mat16x16<f32, C>();`).join(' ');
    multiply = [
      ...range(fm).map((i) => `${offA(i)} let fa${i} = coopLoadT<coop_mat16x16<f16, A>>(&As[oa${i}], sa);`),
      ...range(fn).map((j) => `${offB(j)} let fb${j} = coopLoadT<coop_mat16x16<f16, B>>(&Bs[ob${j}], sb);`),
      ...pairs.map(([i, j]) => `${acc(i, j)} = coopMultiplyAdd(fa${i}, fb${j}, ${acc(i, j)});`),
    ].join('\n        ');
    // Stores: straight to y where the whole tile is inside and rows keep 16-byte alignment; else
    // through this subgroup's 16x16 f32 buffer, 8 elements per invocation, bounds checked.
    const direct = pairs.map(([i, j]) => `{ let o = base + (${outRow(i, '0u')}) * N + ${outCol(j, '0u')}; coopStoreT(${acc(i, j)}, &y[o], N); }`).join('\n    ');
    const staged = pairs
      .map(
        ([i, j]) => `{ let o = sg * 256u; coopStoreT(${acc(i, j)}, &Cs[o], s16);
      workgroupBarrier();
      for (var e = lane; e < 256u; e += 32u) {
        let r = ${outRow(i, 'e / 16u')};
        let c = ${outCol(j, 'e % 16u')};
        if (r < M && c < N) { y[base + r * N + c] = Cs[o + e]; }
      }
      workgroupBarrier(); }`,
      )
      .join('\n    ');
    store = `if (row0 + ${bm}u <= M && col0 + ${bn}u <= N && N % 4u == 0u) {
    ${direct}
  } else {
    ${staged}
  }`;
  } else {
    // each invocation holds elements lane + 32s (s < 8) of each 16x16 accumulator fragment (i, j) at
    // acc[(i * fn + j) * 8 + s]; loops, not unrolled code: lavapipe compiles this kernel for every
    // form and tile the tests check
    accumulators = `var acc: array<f32, ${fm * fn * 8}>;`;
    const fragments = (body: string) => `for (var i = 0u; i < ${fm}u; i++) { for (var j = 0u; j < ${fn}u; j++) { for (var s = 0u; s < 8u; s++) { let e = lane + 32u * s; let at = (i * ${fn}u + j) * 8u + s; ${body} } } }`;
    multiply = fragments(`${offA('i')} ${offB('j')} var v = acc[at]; for (var q = 0u; q < 16u; q++) { v += f32(As[oa + (e / 16u) * sa + q]) * f32(Bs[ob + q * sb + e % 16u]); } acc[at] = v;`);
    store = fragments(`let r = ${outRow('i', 'e / 16u')}; let c = ${outCol('j', 'e % 16u')}; if (r < M && c < N) { y[base + r * N + c] = acc[at]; }`);
  }

  // An operand's binding: packed f16 (words, or vec4s of 8 halves) or f32 (its bits as words, or vec4s
  // of 4 values) rounded to f16 as it is staged; and the scalar path's read of one half.
  // (halfLoads: f16 values, vec4s of 4 or one at a time; or f32 values)
  const binding = (x: 'a' | 'b', o: ReturnType<typeof op>) => {
    if (halfLoads) return o.f32 ? (o.vec ? `${x}f4: array<vec4<f32>>` : `${x}f: array<f32>`) : o.vec ? `${x}h4: array<vec4<f16>>` : `${x}hs: array<f16>`;
    return o.f32 ? (o.vec ? `${x}f4: array<vec4<u32>>` : `${x}f: array<u32>`) : o.vec ? `${x}v: array<vec4<u32>>` : `${x}w: array<u32>`;
  };
  const halfAt = (x: 'a' | 'b', o: ReturnType<typeof op>) =>
    o.vec || halfLoads ? '' : o.f32 ? `fn ${x}h(i: u32) -> u32 { return half_bits(${x}f[i]); }` : `fn ${x}h(i: u32) -> u32 { return (${x}w[i >> 1u] >> ((i & 1u) * 16u)) & 0xffffu; }`;
  const registers = (x: 'a' | 'b', q: number) => (halfLoads ? `var p${x}${q}l: vec4<f16>; var p${x}${q}h: vec4<f16>;` : `var p${x}${q}: vec4<u32>;`);

  return /* wgsl */ `enable f16;${emulated ? '' : '\nenable wgpu_cooperative_matrix;'}
@group(0) @binding(0) var<storage, read> prm: array<u32>;
@group(0) @binding(1) var<storage, read> ${binding('a', A)};
@group(0) @binding(2) var<storage, read> ${binding('b', B)};
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
${(A.f32 || B.f32) && !halfLoads ? HALF_BITS : ''}
${halfAt('a', A)}
${halfAt('b', B)}
var<workgroup> As: array<f16, ${2 * A.halves}>;
var<workgroup> Bs: array<f16, ${2 * B.halves}>;
${emulated ? '' : `var<workgroup> Cs: array<f32, ${(T / 32) * 256}>;`}
@compute @workgroup_size(${T})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
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
  let row0 = wg.y * ${bm}u;
  let col0 = wg.x * ${bn}u;
  let sg = t / 32u;
  let lane = t % 32u;
  let sr = sg / ${sgn}u;
  let sc = sg % ${sgn}u;
  let sa = ${A.ld}u;
  let sb = ${B.ld}u;
  let s16 = 16u;
  ${accumulators}
  ${range(aq).map((q) => registers('a', q)).join(' ')} ${range(bq).map((q) => registers('b', q)).join(' ')}
  var k0 = 0u;
  var buf = 0u;
  ${loads()}
  ${stages()}
  workgroupBarrier();
  for (var step = 0u; step < K; step += ${bk}u) {
    let cur = buf;
    k0 = step + ${bk}u;
    let more = k0 < K;
    if (more) {
    ${loads()}
    }
    for (var kk = 0u; kk < ${bk}u; kk += 16u) {
        ${multiply}
    }
    if (more) {
      buf = 1u - cur;
    ${stages()}
    }
    workgroupBarrier();
  }
  let base = wg.z * M * N;
  ${store}
}`;
}
