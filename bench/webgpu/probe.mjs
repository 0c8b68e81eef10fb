// Probe of the GPU machine through Dawn (the `webgpu` package's dawn.node) in Node: adapter, features,
// limits, and a correctness-checked tiled f32 matmul with its speed. The first step of issue 5:
// it shows the device kit, Vulkan loader and Dawn work there before the WebGPU backend is built.
//   bash ../shared/tools/device-kit.sh bench/webgpu/probe.mjs <path to dawn.node.xz>
//   (on the GPU machine) source .device/enter.sh && node .device/probe.mjs
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const { create, globals } = require(process.env.DAWN_NODE ?? join(here, 'dawn.node'));
Object.assign(globalThis, globals);

const gpu = create(['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia']);
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) throw new Error('no WebGPU adapter');
const info = adapter.info ?? {};
const features = [...adapter.features].sort();
const limits = Object.fromEntries(['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup'].map((k) => [k, adapter.limits[k]]));
console.log(JSON.stringify({ adapter: { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description }, features, limits }, null, 1));
const wanted = ['shader-f16', 'timestamp-query'].filter((f) => adapter.features.has(f));
const device = await adapter.requestDevice({
  requiredFeatures: wanted,
  requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize },
});

// C[M,N] = A[M,K] B[K,N], 16x16 tiles through workgroup memory, each thread 4x4 outputs (64x64 per workgroup)
const TILE = 64;
const code = `
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
struct Dims { m: u32, n: u32, k: u32 };
@group(0) @binding(3) var<uniform> dims: Dims;
var<workgroup> ta: array<array<f32, 16>, 64>;
var<workgroup> tb: array<array<f32, 64>, 16>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row0 = wg.y * 64u + lid.y * 4u;
  let col0 = wg.x * 64u + lid.x * 4u;
  var acc: array<array<f32, 4>, 4>;
  for (var kk = 0u; kk < dims.k; kk += 16u) {
    for (var i = 0u; i < 4u; i++) {
      let r = wg.y * 64u + lid.y * 4u + i;
      ta[lid.y * 4u + i][lid.x] = select(0.0, a[r * dims.k + kk + lid.x], r < dims.m && kk + lid.x < dims.k);
      let cc = wg.x * 64u + lid.x * 4u + i;
      tb[lid.y][lid.x * 4u + i] = select(0.0, b[(kk + lid.y) * dims.n + cc], cc < dims.n && kk + lid.y < dims.k);
    }
    workgroupBarrier();
    for (var p = 0u; p < 16u; p++) {
      var av: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) { av[i] = ta[lid.y * 4u + i][p]; }
      for (var j = 0u; j < 4u; j++) {
        let bv = tb[p][lid.x * 4u + j];
        for (var i = 0u; i < 4u; i++) { acc[i][j] += av[i] * bv; }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 4u; j++) {
      let r = row0 + i; let cc = col0 + j;
      if (r < dims.m && cc < dims.n) { c[r * dims.n + cc] = acc[i][j]; }
    }
  }
}`;
const shader = device.createShaderModule({ code });
const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: shader, entryPoint: 'main' } });

function buffer(data, usage) {
  const buf = device.createBuffer({ size: data.byteLength, usage, mappedAtCreation: true });
  new Float32Array(buf.getMappedRange()).set(data);
  buf.unmap();
  return buf;
}

async function matmul(m, n, k, a, b, reps) {
  const S = GPUBufferUsage.STORAGE;
  const A = buffer(a, S);
  const B = buffer(b, S);
  const C = device.createBuffer({ size: m * n * 4, usage: S | GPUBufferUsage.COPY_SRC });
  const U = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(U, 0, new Uint32Array([m, n, k, 0]));
  const bind = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [A, B, C, U].map((buffer, binding) => ({ binding, resource: { buffer } })) });
  const run = () => {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(Math.ceil(n / TILE), Math.ceil(m / TILE));
    pass.end();
    device.queue.submit([enc.finish()]);
  };
  run();
  await device.queue.onSubmittedWorkDone();
  // one submit at a time, each awaited: queueing many submits crashed Dawn in a futex on the
  // GPU machine (Firecracker), 2026-11-25
  let seconds = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    run();
    await device.queue.onSubmittedWorkDone();
    seconds = Math.min(seconds, (performance.now() - t0) / 1000);
  }
  const R = device.createBuffer({ size: m * n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(C, 0, R, 0, m * n * 4);
  device.queue.submit([enc.finish()]);
  await R.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(R.getMappedRange().slice(0));
  for (const x of [A, B, C, U, R]) x.destroy();
  return { out, seconds };
}

const rand = (n, seed) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) % 1);
const [m, n, k] = [100, 130, 70];
const a = rand(m * k, 1);
const b = rand(k * n, 2);
const { out } = await matmul(m, n, k, a, b, 1);
let maxErr = 0;
for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
  let s = 0;
  for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
  maxErr = Math.max(maxErr, Math.abs(s - out[i * n + j]));
}
console.log(`correctness ${m}x${k} @ ${k}x${n}: max abs error ${maxErr.toExponential(2)}`);
for (const size of [1024, 2048, 4096]) {
  const { seconds } = await matmul(size, size, size, rand(size * size, 3), rand(size * size, 4), 5);
  console.log(`f32 tiled matmul ${size}^3: ${(2 * size ** 3 / seconds / 1e12).toFixed(2)} TFLOP/s (${(seconds * 1e3).toFixed(2)} ms)`);
}
device.destroy();
