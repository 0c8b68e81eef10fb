/**
 * Our side of the GPT-2 XL-size comparison (issue 5), after bench/webgpu/gpt2xl_torch.py built the
 * checkpoint and timed PyTorch in the same call: the engine on the WebGPU backend loads the same
 * sharded f32 safetensors, checks its last-position logits and the layer-17 gradient against
 * PyTorch's, then times the forward of 8 x 64 tokens and the forward + backward to a vector added
 * to layer 17's MLP output (ROME's v). Prints JSON lines.
 *   node gpt2xl.mjs DIR
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Engine } from '../../server/engine';
import { createWebGpuBackend } from '../../server/engine/backends/webgpu/open';
import { indexSelect, logSoftmax, neg, reshape, sum, takeAlongLast } from '../../server/engine/ops';
import { addAt, Hooks } from '../../server/models/hooks';
import { loadCheckpointDir } from '../../server/models/load';

const LAYER = 17;

function relError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return diff / Math.max(scale, 1e-12);
}

async function main() {
  const dir = process.argv[2]!;
  const { backend, info } = await createWebGpuBackend();
  console.log(JSON.stringify({ adapter: info }));
  const engine = new Engine(backend);
  let t = performance.now();
  const net = await loadCheckpointDir(engine, dir);
  console.log(JSON.stringify({ loaded: dir, seconds: (performance.now() - t) / 1000, gpuBytes: backend.bytesInUse() }));
  const input = JSON.parse(readFileSync(path.join(dir, 'bench-input.json'), 'utf8')) as { ids: number[][]; targets: number[] };
  const expected = JSON.parse(readFileSync(path.join(dir, 'bench-expected.json'), 'utf8')) as { lastLogits: number[][]; grad: number[] };
  const [B, T] = [input.ids.length, input.ids[0]!.length];
  const V = net.spec.vocabSize;
  const hidden = net.spec.hidden;
  const ids = engine.keep(engine.tensor(Int32Array.from(input.ids.flat()), [B, T], 'i32'));
  const lastRows = engine.keep(engine.tensor(Int32Array.from({ length: B }, (_, b) => b * T + T - 1), [B], 'i32'));
  const targets = engine.keep(engine.tensor(Int32Array.from(input.targets), [B], 'i32'));
  const positions = Array.from({ length: B }, (_, b) => [b, T - 1] as const);

  const forward = async () =>
    engine.tidy(() => {
      const { logits } = net.forward({ ids });
      return engine.keep(indexSelect(reshape(logits, [B * T, V]), 0, lastRows));
    });
  const forwardBackward = async () => {
    const delta = engine.parameter(new Array<number>(hidden).fill(0), [hidden]);
    const grad = engine.tidy(() => {
      const hooks = new Hooks().on('mlp_out', LAYER, (x) => addAt(x, positions, delta));
      const { logits } = net.forward({ ids, hooks });
      const last = indexSelect(reshape(logits, [B * T, V]), 0, lastRows);
      const loss = neg(sum(takeAlongLast(logSoftmax(last), targets)));
      return engine.keep(engine.grad(loss, [delta])[0]!);
    });
    delta.dispose();
    return grad;
  };

  // Same model? (first run also compiles the pipelines)
  const last = await forward();
  const lastValues = (await last.values()) as Float32Array;
  last.dispose();
  const g = await forwardBackward();
  const gradValues = (await g.values()) as Float32Array;
  g.dispose();
  console.log(JSON.stringify({ check: 'last-position logits vs PyTorch fp32', relError: relError(lastValues, expected.lastLogits.flat()) }));
  console.log(JSON.stringify({ check: `d(log-likelihood)/d(mlp_out ${LAYER} delta) vs PyTorch fp32`, relError: relError(gradValues, expected.grad) }));

  const reps = 5;
  for (const [name, run] of [
    ['forward_s', forward],
    ['forward_backward_s', forwardBackward],
  ] as const) {
    const before = engine.memory();
    t = performance.now();
    for (let i = 0; i < reps; i++) {
      const out = await run();
      await out.values(); // waits for the GPU
      out.dispose();
    }
    const seconds = (performance.now() - t) / 1000 / reps;
    console.log(JSON.stringify({ ours: 'webgpu f32', [name]: seconds, peak_gib: backend.peakBytes / 2 ** 30, tensorsBefore: before }));
    backend.peakBytes = 0;
  }

  // the matmul tiles the backend timed and chose, per shape class
  for (const entry of backend.tuner.log) console.log(JSON.stringify({ tuned: entry.shape, chosen: entry.chosen, ms: Object.fromEntries(Object.entries(entry.seconds).map(([k, v]) => [k, +(v * 1e3).toFixed(3)])) }));

  // LOCUS_WGPU_PROFILE=1: one more forward + backward with a wait after every kernel, time by kernel
  if (process.env.LOCUS_WGPU_PROFILE === '1') {
    const b = backend as unknown as { run: (...args: unknown[]) => void; driver: { finish(): Promise<void> } };
    const times = new Map<string, [number, number]>();
    const run = b.run.bind(b);
    const sync = (b.driver as unknown as { gpu: { wait(): void } }).gpu;
    b.run = (key: unknown, code: unknown, prm: unknown, bufs: unknown, groups: unknown) => {
      sync.wait();
      const start = performance.now();
      run(key, code, prm, bufs, groups);
      sync.wait();
      const p = prm as number[];
      const name = String(key).startsWith('matmul') ? `${String(key)} ${p.slice(0, 3).join('x')} batch ${p[5] ? p[6] : 1}` : String(key);
      const entry = times.get(name) ?? [0, 0];
      entry[0]++;
      entry[1] += performance.now() - start;
      times.set(name, entry);
    };
    const g = await forwardBackward();
    await g.values();
    g.dispose();
    const total = [...times.values()].reduce((acc, [, ms]) => acc + ms, 0);
    console.log(JSON.stringify({ profile: 'forward+backward, ms by kernel (each waited for)', total_ms: total }));
    for (const [name, [n, ms]] of [...times].sort((x, y) => y[1][1] - x[1][1]).slice(0, 20)) console.log(JSON.stringify({ kernel: name, calls: n, ms }));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
