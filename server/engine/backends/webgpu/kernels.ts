/**
 * WGSL sources of the WebGPU backend's kernels, one per Backend method (server/engine/backend.ts),
 * each mirroring the CPU backend's loop (backends/cpu/index.ts), which is what they are tested
 * against. Every buffer holds 32-bit words: f32, i32, or f16/bf16 values widened to f32 (rounded to
 * their precision by `cast`). Integer parameters (sizes, shapes, strides) and float scalars (as
 * bits) come in one `prm: array<u32>` per dispatch (`meta` is a reserved word in WGSL).
 *
 * Most kernels are one invocation per output element; norms and softmax one workgroup per row;
 * reductions of adjacent axes a workgroup per row or 32 x 8 invocations per 32 columns; binary ops
 * whose operands are the output's shape, a bias, a per-row factor or a scalar index with one
 * expression (`binaryFastKernel`), others walk the dims. The fast f32 matmuls are generated per tile
 * shape in ./matmul.ts (the 16x16 MATMUL here takes thin products); the f16 ones (tensor cores, or
 * the tiled fallback) and the f16 packing in ./half.ts.
 */
import type { BinaryOp, ReduceOp, UnaryOp } from '../../backend';
import { TILES, tiledKey, tiledMatmulKernel } from './matmul';

export const WG = 256;

/** Header of the element-wise kernels: `prm`, and `i`, this invocation's element (2-D dispatch). */
const ELEMENTWISE = (bindings: string, body: string) => /* wgsl */ `
@group(0) @binding(0) var<storage, read> prm: array<u32>;
${bindings}
// Runtime values: a constant infinity is a shader-creation error.
fn neg_inf() -> f32 { var b = 0xff800000u; return bitcast<f32>(b); }
fn pos_inf() -> f32 { var b = 0x7f800000u; return bitcast<f32>(b); }
fn tanh_(x: f32) -> f32 { let e = exp(-2.0 * abs(x)); let t = (1.0 - e) / (1.0 + e); return select(-t, t, x >= 0.0); }
fn erf_(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return select(r - 1.0, 1.0 - r, x >= 0.0);
}
// f32 rounded to the nearest f16 (ties to even) in integer arithmetic: pack2x16float's rounding is
// the driver's choice (NVIDIA's differs from the CPU backend's).
fn round_f16(v: f32) -> f32 {
  let b = bitcast<u32>(v);
  let mag = b & 0x7fffffffu;
  if (mag >= 0x7f800000u) { return v; } // inf, nan
  if (mag < 0x38800000u) { return round(v * 16777216.0) / 16777216.0; } // f16 subnormals: steps of 2^-24
  let r = (b + 0xfffu + ((b >> 13u) & 1u)) & 0xffffe000u;
  if ((r & 0x7fffffffu) > 0x477fe000u) { return bitcast<f32>((b & 0x80000000u) | 0x7f800000u); } // over 65504
  return bitcast<f32>(r);
}
fn sigmoid_(x: f32) -> f32 { if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); } let e = exp(x); return e / (1.0 + e); }
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * ${WG}u;
${body}
}`;

/**
 * Header of the row kernels (norms, softmax): one workgroup of ${WG} invocations per row, `i` the
 * row, `t` the invocation; each strides over the row's `n` elements (0 for the spare workgroups of a
 * 2-D grid, which still reach every barrier) and combines partial results with wg_sum / wg_max.
 * One invocation per row, as before, left most of the GPU idle: 1.3 ms per LayerNorm of 512 x 1600.
 */
const ROWWISE = (bindings: string, body: string) => /* wgsl */ `
@group(0) @binding(0) var<storage, read> prm: array<u32>;
${bindings}
fn neg_inf() -> f32 { var b = 0xff800000u; return bitcast<f32>(b); }
var<workgroup> red: array<f32, ${WG}>;
fn wg_sum(v: f32, t: u32) -> f32 {
  red[t] = v;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (t < s) { red[t] = red[t] + red[t + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn wg_max(v: f32, t: u32) -> f32 {
  red[t] = v;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (t < s) { red[t] = max(red[t], red[t + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let i = wg.x + wg.y * nwg.x;
  let valid = i < prm[0];
  let dim = prm[1];
  let n = select(0u, dim, valid);
  let base = i * dim;
${body}
}`;

const UNARY_EXPR: Record<UnaryOp, string> = {
  neg: '-v',
  exp: 'exp(v)',
  log: 'log(v)',
  sqrt: 'sqrt(v)',
  rsqrt: '1.0 / sqrt(v)',
  abs: 'abs(v)',
  sign: 'sign(v)',
  square: 'v * v',
  reciprocal: '1.0 / v',
  tanh: 'tanh_(v)',
  erf: 'erf_(v)',
  sigmoid: 'sigmoid_(v)',
  relu: 'select(0.0, v, v > 0.0)',
  step: 'select(0.0, 1.0, v > 0.0)',
  geluTanh: '0.5 * v * (1.0 + tanh_(0.7978845608028654 * (v + 0.044715 * v * v * v)))',
  geluErf: '0.5 * v * (1.0 + erf_(v * 0.7071067811865476))',
  silu: 'v * sigmoid_(v)',
  geluTanhGrad:
    '0.5 * (1.0 + tanh_(0.7978845608028654 * (v + 0.044715 * v * v * v))) + 0.5 * v * (1.0 - tanh_(0.7978845608028654 * (v + 0.044715 * v * v * v)) * tanh_(0.7978845608028654 * (v + 0.044715 * v * v * v))) * 0.7978845608028654 * (1.0 + 3.0 * 0.044715 * v * v)',
  geluErfGrad: '0.5 * (1.0 + erf_(v * 0.7071067811865476)) + v * exp(-0.5 * v * v) * 0.3989422804014327',
  siluGrad: 'sigmoid_(v) * (1.0 + v * (1.0 - sigmoid_(v)))',
};

export function unaryKernel(op: UnaryOp): string {
  return ELEMENTWISE(
    `@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;`,
    `  if (i >= prm[0]) { return; }
  let v = x[i];
  y[i] = ${UNARY_EXPR[op]};`,
  );
}

/** prm: [n, scaleBits, shiftBits] */
export const AFFINE = ELEMENTWISE(
  `@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;`,
  `  if (i >= prm[0]) { return; }
  y[i] = x[i] * bitcast<f32>(prm[1]) + bitcast<f32>(prm[2]);`,
);

/** prm: [n, loBits, hiBits] */
export const CLAMP = ELEMENTWISE(
  `@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;`,
  `  if (i >= prm[0]) { return; }
  y[i] = min(bitcast<f32>(prm[2]), max(bitcast<f32>(prm[1]), x[i]));`,
);

/** prm: [n, bits] */
export const FILL = ELEMENTWISE(
  `@group(0) @binding(1) var<storage, read_write> y: array<u32>;`,
  `  if (i >= prm[0]) { return; }
  y[i] = prm[1];`,
);

const BINARY_EXPR: Record<BinaryOp, string> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  pow: 'pow_(a, b)',
  maximum: 'max(a, b)',
  minimum: 'min(a, b)',
  greater: 'select(0.0, 1.0, a > b)',
  equal: 'select(0.0, 1.0, a == b)',
};

/** prm: [n, rank, outShape[rank], aStrides[rank], bStrides[rank]] (0 on broadcast dims) */
export function binaryKernel(op: BinaryOp): string {
  return ELEMENTWISE(
    `@group(0) @binding(1) var<storage, read> xa: array<f32>;
@group(0) @binding(2) var<storage, read> xb: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
fn pow_(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (a < 0.0 && fract(b) == 0.0) { let r = pow(-a, b); return select(r, -r, (i32(b) & 1) == 1); }
  return pow(a, b);
}`,
    `  if (i >= prm[0]) { return; }
  let rank = prm[1];
  var rem = i;
  var oa = 0u;
  var ob = 0u;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let size = prm[2u + u32(d)];
    let idx = rem % size;
    rem = rem / size;
    oa += idx * prm[2u + rank + u32(d)];
    ob += idx * prm[2u + 2u * rank + u32(d)];
  }
  let a = xa[oa];
  let b = xb[ob];
  y[i] = ${BINARY_EXPR[op]};`,
  );
}

/** prm: [n] */
export const WHERE = ELEMENTWISE(
  `@group(0) @binding(1) var<storage, read> c: array<f32>;
@group(0) @binding(2) var<storage, read> xa: array<f32>;
@group(0) @binding(3) var<storage, read> xb: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;`,
  `  if (i >= prm[0]) { return; }
  y[i] = select(xb[i], xa[i], c[i] != 0.0);`,
);

/**
 * One invocation per output element, looping over the reduced elements.
 * prm: [outSize, rank, shape[rank], strides[rank], reduced[rank] (0/1), reducedCount]
 */
export function reduceKernel(op: ReduceOp): string {
  const init = op === 'sum' ? '0.0' : op === 'max' ? 'neg_inf()' : 'pos_inf()';
  const combine = op === 'sum' ? 'acc + v' : op === 'max' ? 'max(acc, v)' : 'min(acc, v)';
  return ELEMENTWISE(
    `@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;`,
    `  if (i >= prm[0]) { return; }
  let rank = prm[1];
  // the output index over the kept dims (reduced dims have size 1 there)
  var rem = i;
  var base = 0u;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let ud = u32(d);
    if (prm[2u + 2u * rank + ud] == 0u) {
      let size = prm[2u + ud];
      base += (rem % size) * prm[2u + rank + ud];
      rem = rem / size;
    }
  }
  var acc: f32 = ${init};
  let count = prm[2u + 3u * rank];
  for (var r = 0u; r < count; r++) {
    var rr = r;
    var off = base;
    for (var d = i32(rank) - 1; d >= 0; d--) {
      let ud = u32(d);
      if (prm[2u + 2u * rank + ud] == 1u) {
        let size = prm[2u + ud];
        off += (rr % size) * prm[2u + rank + ud];
        rr = rr / size;
      }
    }
    let v = x[off];
    acc = ${combine};
  }
  y[i] = acc;`,
  );
}

/** prm: [rows, dim]; output i32 */
export const ARGMAX = ELEMENTWISE(
  `@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<i32>;`,
  `  if (i >= prm[0]) { return; }
  let dim = prm[1];
  var best = 0u;
  var bestValue = neg_inf();
  for (var j = 0u; j < dim; j++) {
    let v = x[i * dim + j];
    if (v > bestValue) { bestValue = v; best = j; }
  }
  y[i] = i32(best);`,
);

/**
 * Batched matmul with broadcast batch dims and transposes, 16x16 tiles in workgroup memory.
 * prm: [M, N, K, transA, transB, batchRank, batchShape[br], aBatchStrides[br], bBatchStrides[br]]
 */
export const MATMUL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> prm: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
var<workgroup> As: array<array<f32, 16>, 16>;
var<workgroup> Bs: array<array<f32, 16>, 16>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let M = prm[0]; let N = prm[1]; let K = prm[2];
  let transA = prm[3] == 1u; let transB = prm[4] == 1u;
  let br = prm[5];
  let row = wg.y * 16u + lid.y;
  let col = wg.x * 16u + lid.x;
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
  var acc = 0.0;
  for (var t = 0u; t < K; t += 16u) {
    let ka = t + lid.x;
    var av = 0.0;
    // branches, not select(): select loads both places (transA is the same for every invocation)
    if (row < M && ka < K) { if (transA) { av = a[oa + ka * M + row]; } else { av = a[oa + row * K + ka]; } }
    As[lid.y][lid.x] = av;
    let kb = t + lid.y;
    var bv = 0.0;
    if (kb < K && col < N) { if (transB) { bv = b[ob + col * K + kb]; } else { bv = b[ob + kb * N + col]; } }
    Bs[lid.y][lid.x] = bv;
    workgroupBarrier();
    for (var p = 0u; p < 16u; p++) { acc += As[lid.y][p] * Bs[p][lid.x]; }
    workgroupBarrier();
  }
  if (row < M && col < N) { y[wg.z * M * N + row * N + col] = acc; }
}`;

/** out[i] = x[base + sum(idx_d * strides_d)], idx over `shape`. prm: [n, base, rank, shape[rank], strides[rank]] (permute, slice) */
export const GATHER_STRIDED = ELEMENTWISE(
  `@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;`,
  `  if (i >= prm[0]) { return; }
  let rank = prm[2];
  var rem = i;
  var off = prm[1];
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let ud = u32(d);
    let size = prm[3u + ud];
    off += (rem % size) * prm[3u + rank + ud];
    rem = rem / size;
  }
  y[i] = x[off];`,
);

/** Zeros of `shape` with the box `sizes` at `starts` from g. prm: [n, rank, shape[rank], starts[rank], sizes[rank]] */
export const PAD = ELEMENTWISE(
  `@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;`,
  `  if (i >= prm[0]) { return; }
  let rank = prm[1];
  var rem = i;
  var off = 0u;
  var boxStride = 1u;
  var inside = true;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let ud = u32(d);
    let size = prm[2u + ud];
    let idx = rem % size;
    rem = rem / size;
    let start = prm[2u + rank + ud];
    let extent = prm[2u + 2u * rank + ud];
    if (idx < start || idx >= start + extent) { inside = false; }
    off += (idx - start) * boxStride;
    boxStride *= extent;
  }
  y[i] = select(0.0, g[off], inside);`,
);

/** One input of a concat into its place in the output. prm: [n (input size), chunk, outRow, offset] */
export const CONCAT_PART = ELEMENTWISE(
  `@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;`,
  `  if (i >= prm[0]) { return; }
  let chunk = prm[1];
  y[(i / chunk) * prm[2] + prm[3] + i % chunk] = x[i];`,
);

/** prm: [n (output size), count, dim, inner]; out[(o*count+j)*inner+e] = x[(o*dim+idx[j])*inner+e] */
export const GATHER = ELEMENTWISE(
  `@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read_write> y: array<u32>;`,
  `  if (i >= prm[0]) { return; }
  let count = prm[1]; let dim = prm[2]; let inner = prm[3];
  let e = i % inner;
  let j = (i / inner) % count;
  let o = i / (inner * count);
  let row = u32(clamp(idx[j], 0, i32(dim) - 1));
  y[i] = x[(o * dim + row) * inner + e];`,
);

/** prm: [n (output size), count, dim, inner]; each output sums the g rows whose index points at it */
export const SCATTER_ADD = ELEMENTWISE(
  `@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;`,
  `  if (i >= prm[0]) { return; }
  let count = prm[1]; let dim = prm[2]; let inner = prm[3];
  let e = i % inner;
  let r = (i / inner) % dim;
  let o = i / (inner * dim);
  var acc = 0.0;
  for (var j = 0u; j < count; j++) {
    if (u32(idx[j]) == r) { acc += g[(o * count + j) * inner + e]; }
  }
  y[i] = acc;`,
);

/** prm: [rows, dim] */
export const TAKE_ALONG_LAST = ELEMENTWISE(
  `@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;`,
  `  if (i >= prm[0]) { return; }
  let dim = prm[1];
  y[i] = x[i * dim + u32(clamp(idx[i], 0, i32(dim) - 1))];`,
);

/** prm: [rows * dim, dim] */
export const PUT_ALONG_LAST = ELEMENTWISE(
  `@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;`,
  `  if (i >= prm[0]) { return; }
  let dim = prm[1];
  let r = i / dim;
  y[i] = select(0.0, g[r], u32(idx[r]) == i % dim);`,
);

/** One invocation per row. prm: [rows, dim] */
export function softmaxKernel(log: boolean): string {
  return ROWWISE(
    `@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;`,
    `  var m = neg_inf();
  for (var j = t; j < n; j += ${WG}u) { m = max(m, x[base + j]); }
  let mx = wg_max(m, t);
  ${
    log
      ? `var s = 0.0;
  for (var j = t; j < n; j += ${WG}u) { s += exp(x[base + j] - mx); }
  let shift = mx + log(wg_sum(s, t));
  for (var j = t; j < n; j += ${WG}u) { y[base + j] = x[base + j] - shift; }`
      : `// a row of -inf (fully masked) gives zeros, as on the CPU
  let empty = mx == neg_inf();
  var s = 0.0;
  for (var j = t; j < n; j += ${WG}u) { let e = select(exp(x[base + j] - mx), 0.0, empty); y[base + j] = e; s += e; }
  let inv = select(1.0 / wg_sum(s, t), 0.0, empty);
  for (var j = t; j < n; j += ${WG}u) { y[base + j] = y[base + j] * inv; }`
  }`,
  );
}

/** prm: [rows, dim, epsBits, hasBeta]; out, mean, rstd */
export const LAYER_NORM = ROWWISE(
  `@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> mean: array<f32>;
@group(0) @binding(6) var<storage, read_write> rstd: array<f32>;`,
  `  var s = 0.0;
  for (var j = t; j < n; j += ${WG}u) { s += x[base + j]; }
  let mu = wg_sum(s, t) / f32(dim);
  var v = 0.0;
  for (var j = t; j < n; j += ${WG}u) { let c = x[base + j] - mu; v += c * c; }
  let rs = 1.0 / sqrt(wg_sum(v, t) / f32(dim) + bitcast<f32>(prm[2]));
  if (valid && t == 0u) { mean[i] = mu; rstd[i] = rs; }
  let hasBeta = prm[3] == 1u;
  for (var j = t; j < n; j += ${WG}u) {
    var o = (x[base + j] - mu) * rs * gamma[j];
    if (hasBeta) { o += beta[j]; }
    y[base + j] = o;
  }`,
);

/** Per row: dx. prm: [rows, dim] */
export const LAYER_NORM_DX = ROWWISE(
  `@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> mean: array<f32>;
@group(0) @binding(5) var<storage, read> rstd: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;`,
  `  let row = select(0u, i, valid);
  let mu = mean[row];
  let rs = rstd[row];
  var sD = 0.0;
  var sDX = 0.0;
  for (var j = t; j < n; j += ${WG}u) {
    let xhat = (x[base + j] - mu) * rs;
    let d = g[base + j] * gamma[j];
    sD += d;
    sDX += d * xhat;
  }
  let sumD = wg_sum(sD, t) / f32(dim);
  let sumDX = wg_sum(sDX, t) / f32(dim);
  for (var j = t; j < n; j += ${WG}u) {
    let xhat = (x[base + j] - mu) * rs;
    dx[base + j] = rs * (g[base + j] * gamma[j] - sumD - xhat * sumDX);
  }`,
);

/** Per column: dgamma, dbeta. prm: [dim, rows] */
export const LAYER_NORM_DPARAMS = ELEMENTWISE(
  `@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> rstd: array<f32>;
@group(0) @binding(5) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(6) var<storage, read_write> dbeta: array<f32>;`,
  `  if (i >= prm[0]) { return; }
  let dim = prm[0];
  let rows = prm[1];
  var dg = 0.0;
  var db = 0.0;
  for (var r = 0u; r < rows; r++) {
    let gv = g[r * dim + i];
    dg += gv * (x[r * dim + i] - mean[r]) * rstd[r];
    db += gv;
  }
  dgamma[i] = dg;
  dbeta[i] = db;`,
);

/** prm: [rows, dim, epsBits]; out, rstd */
export const RMS_NORM = ROWWISE(
  `@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> rstd: array<f32>;`,
  `  var s = 0.0;
  for (var j = t; j < n; j += ${WG}u) { s += x[base + j] * x[base + j]; }
  let rs = 1.0 / sqrt(wg_sum(s, t) / f32(dim) + bitcast<f32>(prm[2]));
  if (valid && t == 0u) { rstd[i] = rs; }
  for (var j = t; j < n; j += ${WG}u) { y[base + j] = x[base + j] * rs * gamma[j]; }`,
);

/** Per row: dx. prm: [rows, dim] */
export const RMS_NORM_DX = ROWWISE(
  `@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> rstd: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;`,
  `  let rs = rstd[select(0u, i, valid)];
  var s = 0.0;
  for (var j = t; j < n; j += ${WG}u) { s += g[base + j] * gamma[j] * x[base + j]; }
  let c = (wg_sum(s, t) / f32(dim)) * rs * rs * rs;
  for (var j = t; j < n; j += ${WG}u) { dx[base + j] = rs * g[base + j] * gamma[j] - x[base + j] * c; }`,
);

/** Per column: dgamma. prm: [dim, rows] */
export const RMS_NORM_DGAMMA = ELEMENTWISE(
  `@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> rstd: array<f32>;
@group(0) @binding(4) var<storage, read_write> dgamma: array<f32>;`,
  `  if (i >= prm[0]) { return; }
  let dim = prm[0];
  let rows = prm[1];
  var dg = 0.0;
  for (var r = 0u; r < rows; r++) { dg += g[r * dim + i] * x[r * dim + i] * rstd[r]; }
  dgamma[i] = dg;`,
);

/** One invocation per element. prm: [n, d, t, rotaryDim, interleaved, signBits, rowsPerTable] */
export const ROPE = ELEMENTWISE(
  `@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> cosT: array<f32>;
@group(0) @binding(3) var<storage, read> sinT: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;`,
  `  if (i >= prm[0]) { return; }
  let d = prm[1]; let t = prm[2]; let rot = prm[3]; let interleaved = prm[4] == 1u;
  let sgn = bitcast<f32>(prm[5]);
  let hf = rot / 2u;
  let r = i / d;
  let c = i % d;
  if (c >= rot) { y[i] = x[i]; return; }
  let pos = (r / prm[6]) * t + r % t;
  let base = r * d;
  var k = 0u; var isFirst = true; var i1 = 0u; var i2 = 0u;
  if (interleaved) { k = c / 2u; isFirst = c % 2u == 0u; i1 = base + 2u * k; i2 = i1 + 1u; }
  else { k = c % hf; isFirst = c < hf; i1 = base + k; i2 = i1 + hf; }
  let cs = cosT[pos * hf + k];
  let sn = sgn * sinT[pos * hf + k];
  let x1 = x[i1];
  let x2 = x[i2];
  y[i] = select(x2 * cs + x1 * sn, x1 * cs - x2 * sn, isFirst);`,
);

/** prm: [n, from (0 f32, 1 i32, 2 f16, 3 bf16), to (same codes)] */
export const CAST = ELEMENTWISE(
  `@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;`,
  `  if (i >= prm[0]) { return; }
  let bits = x[i];
  var v = bitcast<f32>(bits);
  if (prm[1] == 1u) { v = f32(bitcast<i32>(bits)); }
  let to = prm[2];
  if (to == 0u) { y[i] = bitcast<u32>(v); }
  else if (to == 1u) { y[i] = bitcast<u32>(i32(trunc(v))); }
  else if (to == 2u) { y[i] = bitcast<u32>(round_f16(v)); }
  else {
    let b = bitcast<u32>(v);
    y[i] = (b + 0x7fffu + ((b >> 16u) & 1u)) & 0xffff0000u;
  }`,
);

/** Every kernel by the key the backend caches its pipeline under: compiled ahead by `warm()`. */
export function allKernels(): [string, string][] {
  const unary = (Object.keys(UNARY_EXPR) as UnaryOp[]).map((op): [string, string] => [`unary:${op}`, unaryKernel(op)]);
  const binary = (Object.keys(BINARY_EXPR) as BinaryOp[]).map((op): [string, string] => [`binary:${op}`, binaryKernel(op)]);
  const reduce = (['sum', 'max', 'min'] as ReduceOp[]).map((op): [string, string] => [`reduce:${op}`, reduceKernel(op)]);
  return [
    ...unary,
    ...binary,
    ...reduce,
    ['fill', FILL],
    ['cast', CAST],
    ['affine', AFFINE],
    ['clamp', CLAMP],
    ['where', WHERE],
    ['argmax', ARGMAX],
    ['matmul', MATMUL],
    ...TILES.flatMap((tile) => [false, true].flatMap((ta) => [false, true].map((tb): [string, string] => [tiledKey(tile, ta, tb), tiledMatmulKernel(tile, ta, tb)]))),
    ['strided', GATHER_STRIDED],
    ['pad', PAD],
    ['concat', CONCAT_PART],
    ['gather', GATHER],
    ['scatterAdd', SCATTER_ADD],
    ['takeAlongLast', TAKE_ALONG_LAST],
    ['putAlongLast', PUT_ALONG_LAST],
    ['softmax', softmaxKernel(false)],
    ['logSoftmax', softmaxKernel(true)],
    ['layerNorm', LAYER_NORM],
    ['layerNormDx', LAYER_NORM_DX],
    ['layerNormDparams', LAYER_NORM_DPARAMS],
    ['rmsNorm', RMS_NORM],
    ['rmsNormDx', RMS_NORM_DX],
    ['rmsNormDgamma', RMS_NORM_DGAMMA],
    ['rope', ROPE],
  ];
}

/**
 * How an operand of a broadcast binary op is indexed by the output's flat index i: 'full' (i), 'mod'
 * (i % p: the operand is the output's trailing dims, repeated: a bias), 'div' (i / p: the output's
 * leading dims, each value repeated p times: a per-row scale). `operandMode` finds it from the
 * broadcast strides; null where none fits (the general kernel then walks the dims).
 */
export type OperandMode = 'full' | 'mod' | 'div';

export function operandMode(strides: readonly number[], shape: readonly number[]): { mode: OperandMode; p: number } | null {
  const rank = shape.length;
  const contiguous = (from: number, to: number) => {
    let s = 1;
    for (let d = to - 1; d >= from; d--) {
      if (shape[d] !== 1 && strides[d] !== s) return false;
      s *= shape[d]!;
    }
    return true;
  };
  const zero = (from: number, to: number) => {
    for (let d = from; d < to; d++) if (shape[d] !== 1 && strides[d] !== 0) return false;
    return true;
  };
  if (contiguous(0, rank)) return { mode: 'full', p: 1 };
  if (zero(0, rank)) return { mode: 'mod', p: 1 }; // a scalar: element 0 for every output
  for (let k = 1; k < rank; k++) {
    const inner = shape.slice(k).reduce((a, b) => a * b, 1);
    if (zero(0, k) && contiguous(k, rank)) return { mode: 'mod', p: inner };
    // leading dims contiguous among themselves (their strides counted in units of the leading block)
    let s = 1;
    let ok = zero(k, rank);
    for (let d = k - 1; d >= 0 && ok; d--) {
      if (shape[d] !== 1 && strides[d] !== s) ok = false;
      s *= shape[d]!;
    }
    if (ok) return { mode: 'div', p: inner };
  }
  return null;
}

/** A binary op whose operands are each 'full', 'mod' or 'div' (`operandMode`). prm: [n, pa, pb] */
export function binaryFastKernel(op: BinaryOp, ma: OperandMode, mb: OperandMode): string {
  const index = (mode: OperandMode, p: string) => (mode === 'full' ? 'i' : mode === 'mod' ? `i % ${p}` : `i / ${p}`);
  return ELEMENTWISE(
    `@group(0) @binding(1) var<storage, read> xa: array<f32>;
@group(0) @binding(2) var<storage, read> xb: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
fn pow_(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (a < 0.0 && fract(b) == 0.0) { let r = pow(-a, b); return select(r, -r, (i32(b) & 1) == 1); }
  return pow(a, b);
}`,
    `  if (i >= prm[0]) { return; }
  let a = xa[${index(ma, 'prm[1]')}];
  let b = xb[${index(mb, 'prm[2]')}];
  y[i] = ${BINARY_EXPR[op]};`,
  );
}

const REDUCE_INIT: Record<ReduceOp, string> = { sum: '0.0', max: 'neg_inf()', min: 'pos_inf()' };
const REDUCE_COMBINE: Record<ReduceOp, (a: string, b: string) => string> = {
  sum: (a, b) => `${a} + ${b}`,
  max: (a, b) => `max(${a}, ${b})`,
  min: (a, b) => `min(${a}, ${b})`,
};

/**
 * Reduction of the middle axis of x viewed as [O, R, I] (the reduced axes merged into R), I > 1:
 * a workgroup of 32 x 8 takes 32 neighbouring i of one o (reads side by side in memory); each of
 * the 8 rows of invocations sums every 8th r, four at a time in flight, and the 8 partial results
 * meet in workgroup memory. One invocation per output looping over all of R (the general kernel)
 * left most of the GPU idle on bias gradients (1600 outputs of 512 rows each).
 * prm: [O, R, I]; grid: (ceil(I / 32), O)
 */
export function reduceColumnsKernel(op: ReduceOp): string {
  const c = REDUCE_COMBINE[op];
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> prm: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
fn neg_inf() -> f32 { var b = 0xff800000u; return bitcast<f32>(b); }
fn pos_inf() -> f32 { var b = 0x7f800000u; return bitcast<f32>(b); }
var<workgroup> part: array<f32, 256>;
@compute @workgroup_size(32, 8)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let R = prm[1]; let I = prm[2];
  let i = wg.x * 32u + lid.x;
  let o = wg.y;
  let live = i < I;
  let base = o * R * I + i;
  var a0: f32 = ${REDUCE_INIT[op]}; var a1: f32 = ${REDUCE_INIT[op]}; var a2: f32 = ${REDUCE_INIT[op]}; var a3: f32 = ${REDUCE_INIT[op]};
  if (live) {
    var r = lid.y;
    for (; r + 24u < R; r += 32u) {
      a0 = ${c('a0', 'x[base + r * I]')};
      a1 = ${c('a1', 'x[base + (r + 8u) * I]')};
      a2 = ${c('a2', 'x[base + (r + 16u) * I]')};
      a3 = ${c('a3', 'x[base + (r + 24u) * I]')};
    }
    for (; r < R; r += 8u) { a0 = ${c('a0', 'x[base + r * I]')}; }
  }
  part[lid.y * 32u + lid.x] = ${c(c('a0', 'a1'), c('a2', 'a3'))};
  workgroupBarrier();
  if (lid.y == 0u && live) {
    var s = part[lid.x];
    for (var k = 1u; k < 8u; k++) { s = ${c('s', 'part[k * 32u + lid.x]')}; }
    y[o * I + i] = s;
  }
}`;
}

/**
 * Reduction of x's trailing axis viewed as [O, R] (I = 1): one workgroup of 64 per output row,
 * strided sums (reads side by side), then a tree in workgroup memory. prm: [O, R]; 2-D grid of O
 * workgroups.
 */
export function reduceRowsKernel(op: ReduceOp): string {
  const c = REDUCE_COMBINE[op];
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> prm: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
fn neg_inf() -> f32 { var b = 0xff800000u; return bitcast<f32>(b); }
fn pos_inf() -> f32 { var b = 0x7f800000u; return bitcast<f32>(b); }
var<workgroup> part: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let o = wg.x + wg.y * nwg.x;
  let O = prm[0]; let R = prm[1];
  let live = o < O;
  let base = o * R;
  var a: f32 = ${REDUCE_INIT[op]};
  if (live) { for (var r = t; r < R; r += 64u) { a = ${c('a', 'x[base + r]')}; } }
  part[t] = a;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (t < s) { part[t] = ${c('part[t]', 'part[t + s]')}; }
    workgroupBarrier();
  }
  if (live && t == 0u) { y[o] = part[0]; }
}`;
}

/**
 * The shape and strides of a strided read with neighbouring dims merged where they are one run of
 * memory (stride[d] = stride[d+1] * shape[d+1]) and size-1 dims dropped: fewer divisions per
 * element for permutes and slices (a head split [B, T, H, D] -> [B, H, T, D] keeps rank 4; a slice
 * of whole rows becomes rank 1).
 */
export function collapseStrided(shape: readonly number[], strides: readonly number[]): { shape: number[]; strides: number[] } {
  const outShape: number[] = [];
  const outStrides: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && outStrides[last] === strides[d]! * shape[d]!) {
      outShape[last] = outShape[last]! * shape[d]!;
      outStrides[last] = strides[d]!;
    } else {
      outShape.push(shape[d]!);
      outStrides.push(strides[d]!);
    }
  }
  return outShape.length ? { shape: outShape, strides: outStrides } : { shape: [1], strides: [0] };
}

/**
 * The reduced axes of `shape` as one middle axis: [O, R, I], or null when they are not adjacent
 * (size-1 dims ignored).
 */
export function reduceView(shape: readonly number[], axes: readonly number[]): { o: number; r: number; i: number } | null {
  const dims = shape.map((size, d) => ({ size, reduced: axes.includes(d) })).filter((d) => d.size !== 1);
  const first = dims.findIndex((d) => d.reduced);
  if (first < 0) return null;
  let last = first;
  while (last + 1 < dims.length && dims[last + 1]!.reduced) last++;
  if (dims.slice(last + 1).some((d) => d.reduced)) return null;
  const prod = (list: { size: number }[]) => list.reduce((a, d) => a * d.size, 1);
  return { o: prod(dims.slice(0, first)), r: prod(dims.slice(first, last + 1)), i: prod(dims.slice(last + 1)) };
}

/**
 * A pad's box with a dim merged into the one before it wherever the box spans it whole (the
 * backward of a narrow of [B, T, 3D] to one third is [B*T, 3D] with a box of [B*T, D]): fewer
 * divisions per element.
 */
export function collapsePad(shape: readonly number[], starts: readonly number[], sizes: readonly number[]): { shape: number[]; starts: number[]; sizes: number[] } {
  const out = { shape: [] as number[], starts: [] as number[], sizes: [] as number[] };
  for (let d = 0; d < shape.length; d++) {
    const last = out.shape.length - 1;
    const whole = starts[d] === 0 && sizes[d] === shape[d];
    if (last >= 0 && whole) {
      out.shape[last] = out.shape[last]! * shape[d]!;
      out.starts[last] = out.starts[last]! * shape[d]!;
      out.sizes[last] = out.sizes[last]! * shape[d]!;
    } else {
      out.shape.push(shape[d]!);
      out.starts.push(starts[d]!);
      out.sizes.push(sizes[d]!);
    }
  }
  return out.shape.length ? out : { shape: [1], starts: [0], sizes: [1] };
}
