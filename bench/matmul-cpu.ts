/**
 * CPU matmul benchmark: the engine's matmul op against a raw one-node onnxruntime-node MatMul
 * session (the public async API) and a plain-JS loop, in the same process and run.
 *   npm run bench:matmul            (sizes 256 1024 2048)
 *   npm run bench:matmul -- 512     (other sizes)
 * Prints a markdown table for bench/BENCHMARKS.md.
 */
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { CpuBackend, Engine, ops } from '../server/engine';
import { uniformArray } from '../lib/random';

const { onnx } = onnxProto;
const sizes = process.argv.slice(2).map(Number).filter(Boolean);
const run = sizes.length ? sizes : [256, 1024, 2048];

function oneNodeMatMul(): Uint8Array {
  const vi = (name: string) => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: `${name}0` }, { dimParam: `${name}1` }] } } },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'mm', node: [{ opType: 'MatMul', input: ['a', 'b'], output: ['c'] }], input: [vi('a'), vi('b')], output: [vi('c')] },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Median seconds of `reps` calls after one warm-up. */
async function time(reps: number, fn: () => unknown): Promise<number> {
  await fn();
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

function jsMatmul(a: Float32Array, b: Float32Array, n: number): Float32Array {
  // i-k-j order: the best a plain loop does (contiguous inner access)
  const c = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k]!;
      const row = k * n;
      const out = i * n;
      for (let j = 0; j < n; j++) c[out + j] = c[out + j]! + aik * b[row + j]!;
    }
  }
  return c;
}

async function main() {
  const threads = os.availableParallelism();
  const session = await ort.InferenceSession.create(oneNodeMatMul(), { intraOpNumThreads: threads, graphOptimizationLevel: 'all' });
  const engine = new Engine(new CpuBackend({ threads }));
  const rows: string[] = [];
  for (const n of run) {
    const av = uniformArray(n * n, 1, -1, 1);
    const bv = uniformArray(n * n, 2, -1, 1);
    const flops = 2 * n * n * n;
    const reps = n <= 256 ? 200 : n <= 1024 ? 20 : 5;
    const feeds = { a: new ort.Tensor('float32', av, [n, n]), b: new ort.Tensor('float32', bv, [n, n]) };
    const raw = await time(reps, () => session.run(feeds));
    const a = engine.tensor(av, [n, n]);
    const b = engine.tensor(bv, [n, n]);
    const eng = await time(reps, () => ops.matmul(a, b).dispose());
    a.dispose();
    b.dispose();
    const js = n <= 1024 ? await time(n <= 256 ? 5 : 1, () => jsMatmul(av, bv, n)) : NaN;
    const g = (s: number) => (Number.isNaN(s) ? 'n/a' : (flops / s / 1e9).toFixed(1));
    rows.push(`| ${n}^3 | ${g(eng)} | ${g(raw)} | ${((raw / eng) * 100).toFixed(0)}% | ${g(js)} |`);
    console.error(rows[rows.length - 1]);
  }
  console.log(`\nnode ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} x${threads}, onnxruntime-node ${ort.env.versions.node ?? ''}`);
  console.log('| size | engine GFLOP/s | raw ORT MatMul GFLOP/s | engine / raw | plain JS GFLOP/s |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(r);
}

void main();
