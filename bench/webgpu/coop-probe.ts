/**
 * Which form of a cooperative-matrix (tensor-core) load NVIDIA's Vulkan compiler takes through wgpu
 * (issue 5). Our tiled tensor-core kernel (server/engine/backends/webgpu/half.ts) failed in the driver
 * ("NVVM compilation failed: 1", which loses the device) on the H100 and H200, so each form here is a
 * one-fragment kernel, y[16x16] = a[16x16] b[16x16] with f16 inputs, compiled and run in a process of
 * its own (run.sh's coop-probe step) and checked against the product on the CPU:
 *   plain-f16        no tensor cores: f16 in storage buffers (naga asks for 16-bit storage)
 *   private-f16      no tensor cores: f16 in registers only (converted from u32 words)
 *   storage-f16      fragments loaded from array<f16> storage buffers (the plain form)
 *   storage-f16-acc16  the same with an f16 accumulator
 *   workgroup-f16    staged in array<f16> workgroup memory first, loaded from there
 *   workgroup-vec4   staged as array<vec4<u32>> (8 halves each) and loaded as f16: what half.ts does
 *   storage-vec4     loaded as f16 straight from array<vec4<u32>> storage
 *   node bench/webgpu/coop-probe.mjs --list | VARIANT
 */
import { createWebGpuBackend } from '../../server/engine/backends/webgpu/open';
import { validateWgsl } from '../../server/engine/backends/webgpu/native';

const head = `enable f16;
enable wgpu_cooperative_matrix;
@group(0) @binding(0) var<storage, read> prm: array<u32>;`;
const out = (acc: 'f32' | 'f16') => `@group(0) @binding(3) var<storage, read_write> y: array<${acc}>;`;

const VARIANTS: Record<string, string> = {
  // f16 without tensor cores: in storage buffers (16-bit storage), and in registers only
  'plain-f16': `enable f16;
@group(0) @binding(0) var<storage, read> prm: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<f16>;
@group(0) @binding(2) var<storage, read> b: array<f16>;
${out('f32')}
@compute @workgroup_size(32)
fn main(@builtin(local_invocation_index) t: u32) {
  for (var e = t; e < 256u; e += 32u) {
    var s = 0.0;
    for (var k = 0u; k < 16u; k++) { s += f32(a[(e / 16u) * 16u + k] * b[k * 16u + e % 16u]); }
    y[e] = s;
  }
}`,
  'private-f16': `enable f16;
@group(0) @binding(0) var<storage, read> prm: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<u32>;
@group(0) @binding(2) var<storage, read> b: array<u32>;
${out('f32')}
fn ah(i: u32) -> f16 { let w = unpack2x16float(a[i >> 1u]); return f16(select(w.x, w.y, (i & 1u) == 1u)); }
fn bh(i: u32) -> f16 { let w = unpack2x16float(b[i >> 1u]); return f16(select(w.x, w.y, (i & 1u) == 1u)); }
@compute @workgroup_size(32)
fn main(@builtin(local_invocation_index) t: u32) {
  for (var e = t; e < 256u; e += 32u) {
    var s = 0.0;
    for (var k = 0u; k < 16u; k++) { s += f32(ah((e / 16u) * 16u + k) * bh(k * 16u + e % 16u)); }
    y[e] = s;
  }
}`,
  'storage-f16': `${head}
@group(0) @binding(1) var<storage, read> a: array<f16>;
@group(0) @binding(2) var<storage, read> b: array<f16>;
${out('f32')}
@compute @workgroup_size(32)
fn main() {
  let fa = coopLoadT<coop_mat16x16<f16, A>>(&a[0], 16u);
  let fb = coopLoadT<coop_mat16x16<f16, B>>(&b[0], 16u);
  var c = coop_mat16x16<f32, C>();
  c = coopMultiplyAdd(fa, fb, c);
  coopStoreT(c, &y[0], 16u);
}`,
  'storage-f16-acc16': `${head}
@group(0) @binding(1) var<storage, read> a: array<f16>;
@group(0) @binding(2) var<storage, read> b: array<f16>;
${out('f16')}
@compute @workgroup_size(32)
fn main() {
  let fa = coopLoadT<coop_mat16x16<f16, A>>(&a[0], 16u);
  let fb = coopLoadT<coop_mat16x16<f16, B>>(&b[0], 16u);
  var c = coop_mat16x16<f16, C>();
  c = coopMultiplyAdd(fa, fb, c);
  coopStoreT(c, &y[0], 16u);
}`,
  'workgroup-f16': `${head}
@group(0) @binding(1) var<storage, read> a: array<f16>;
@group(0) @binding(2) var<storage, read> b: array<f16>;
${out('f32')}
var<workgroup> As: array<f16, 256>;
var<workgroup> Bs: array<f16, 256>;
@compute @workgroup_size(32)
fn main(@builtin(local_invocation_index) t: u32) {
  for (var e = t; e < 256u; e += 32u) { As[e] = a[e]; Bs[e] = b[e]; }
  workgroupBarrier();
  let fa = coopLoadT<coop_mat16x16<f16, A>>(&As[0], 16u);
  let fb = coopLoadT<coop_mat16x16<f16, B>>(&Bs[0], 16u);
  var c = coop_mat16x16<f32, C>();
  c = coopMultiplyAdd(fa, fb, c);
  coopStoreT(c, &y[0], 16u);
}`,
  'workgroup-vec4': `${head}
@group(0) @binding(1) var<storage, read> a: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<u32>>;
${out('f32')}
var<workgroup> As: array<vec4<u32>, 32>;
var<workgroup> Bs: array<vec4<u32>, 32>;
@compute @workgroup_size(32)
fn main(@builtin(local_invocation_index) t: u32) {
  As[t] = a[t];
  Bs[t] = b[t];
  workgroupBarrier();
  let fa = coopLoadT<coop_mat16x16<f16, A>>(&As[0], 2u);
  let fb = coopLoadT<coop_mat16x16<f16, B>>(&Bs[0], 2u);
  var c = coop_mat16x16<f32, C>();
  c = coopMultiplyAdd(fa, fb, c);
  coopStoreT(c, &y[0], 16u);
}`,
  'storage-vec4': `${head}
@group(0) @binding(1) var<storage, read> a: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<u32>>;
${out('f32')}
@compute @workgroup_size(32)
fn main() {
  let fa = coopLoadT<coop_mat16x16<f16, A>>(&a[0], 2u);
  let fb = coopLoadT<coop_mat16x16<f16, B>>(&b[0], 2u);
  var c = coop_mat16x16<f32, C>();
  c = coopMultiplyAdd(fa, fb, c);
  coopStoreT(c, &y[0], 16u);
}`,
};

/** Small integers (exact in f16) as f16 bits, two to a word. */
function halves(values: number[]): Uint32Array {
  const bits = values.map((v) => {
    const f = new Float32Array([v]);
    const u = new Uint32Array(f.buffer)[0]!;
    if (v === 0) return 0;
    return ((u >>> 16) & 0x8000) | ((((u >>> 23) & 0xff) - 112) << 10) | ((u >>> 13) & 0x3ff);
  });
  return Uint32Array.from({ length: bits.length / 2 }, (_, i) => bits[2 * i]! | (bits[2 * i + 1]! << 16));
}

function f16ToNumber(h: number): number {
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  const s = h & 0x8000 ? -1 : 1;
  return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
}

async function main() {
  const name = process.argv[2];
  if (name === '--list' || !name) return console.log(Object.keys(VARIANTS).join(' '));
  if (name === '--wgsl') return console.log(VARIANTS[process.argv[3]!]); // for offline tools (spirv-val)
  const code = VARIANTS[name];
  if (!code) throw new Error(`unknown variant ${name}: ${Object.keys(VARIANTS).join(', ')}`);
  console.log(JSON.stringify({ variant: name, naga: `${validateWgsl(code)} SPIR-V words` }));
  const { backend } = await createWebGpuBackend();
  const gpu = backend.driver;
  const av = Array.from({ length: 256 }, (_, i) => ((i * 7) % 5) - 2);
  const bv = Array.from({ length: 256 }, (_, i) => ((i * 3) % 7) - 3);
  const want = Array.from({ length: 256 }, (_, e) => {
    let s = 0;
    for (let k = 0; k < 16; k++) s += av[Math.floor(e / 16) * 16 + k]! * bv[k * 16 + (e % 16)]!;
    return s;
  });
  const bytes = (w: Uint32Array) => new Uint8Array(w.buffer);
  const a = gpu.upload(bytes(halves(av)), 512);
  const b = gpu.upload(bytes(halves(bv)), 512);
  const y = gpu.createBuffer(1024);
  const pipeline = gpu.compile(code);
  gpu.dispatch(pipeline, new Uint32Array([0]), [a, b, y], [1, 1, 1]);
  gpu.submit();
  const raw = await gpu.read([y], [1024]);
  const acc16 = name.endsWith('acc16');
  const got = acc16 ? Array.from(new Uint16Array(raw, 0, 256), f16ToNumber) : Array.from(new Float32Array(raw, 0, 256));
  const worst = Math.max(...got.map((v, i) => Math.abs(v - want[i]!)));
  console.log(JSON.stringify({ variant: name, compiled: true, maxAbsError: worst, ok: worst === 0 }));
}

main().catch((error: unknown) => {
  console.log(JSON.stringify({ variant: process.argv[2], error: String((error as Error).message ?? error).slice(0, 300) }));
  process.exit(1);
});
