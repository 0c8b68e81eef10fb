/**
 * Our side of the GPT-2 XL-size comparison (issue 5), after bench/webgpu/gpt2xl_torch.py built the
 * checkpoint and timed PyTorch in the same call: the engine on the WebGPU backend loads the same
 * sharded f32 safetensors, checks its last-position logits and the layer-17 gradient against
 * PyTorch's, then times the forward of 8 x 64 tokens and the forward + backward to a vector added
 * to layer 17's MLP output (ROME's v). Then the same with the weight matrices held in f16 on the GPU
 * (`holdInF16`: half their memory) and every product f16-input / f32-accumulate (tensor cores where
 * the adapter has them): checked against PyTorch fp32 again and timed. Each mode: the time of the
 * engine's recording alone (the CPU side, no wait), the wall time, and with LOCUS_WGPU_PROFILE=1 the
 * GPU time of each kernel (timestamp queries). Prints JSON lines.
 *   node gpt2xl.mjs DIR
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Engine, type Tensor } from '../../server/engine';
import { createWebGpuBackend } from '../../server/engine/backends/webgpu/open';
import { indexSelect, logSoftmax, neg, reshape, sum, takeAlongLast } from '../../server/engine/ops';
import { addAt, Hooks } from '../../server/models/hooks';
import { loadCheckpointDir } from '../../server/models/load';

const LAYER = Number(process.env.LOCUS_XL_LAYER ?? 17);

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

  // ROME's v* step at the XL size (what issue 9's ROME spends its time on): R sequences of S tokens
  // (default 22 x 24: 21 context templates and the KL prompt, as in issue 9's XL-size run)
  // start at LAYER from the residual a first forward kept, δ added at LAYER's MLP output, the head on
  // one row per sequence, backward to δ. Timed like the others: record, wall, and GPU by kernel.
  const [R, S] = [Number(process.env.LOCUS_XL_VSTAR_ROWS ?? 22), Number(process.env.LOCUS_XL_VSTAR_TOKENS ?? 24)];
  const vIds = engine.keep(engine.tensor(Int32Array.from({ length: R * S }, (_, i) => input.ids[i % B]![Math.floor(i / B) % T]!), [R, S], 'i32'));
  const vRows = engine.keep(engine.tensor(Int32Array.from({ length: R }, (_, r) => r * S + S - 1), [R], 'i32'));
  const vTargets = engine.keep(engine.tensor(Int32Array.from({ length: R }, (_, r) => input.targets[r % B]!), [R], 'i32'));
  const vPositions = Array.from({ length: R }, (_, r) => [r, S - 2] as const);
  let below: Tensor | null = null;
  const vstarStep = async () => {
    below ??= engine.tidy(() => engine.keep(net.residual({ ids: vIds }, LAYER - 1)));
    const delta = engine.parameter(new Array<number>(hidden).fill(0), [hidden]);
    const grad = engine.tidy(() => {
      const hooks = new Hooks().on('mlp_out', LAYER, (x) => addAt(x, vPositions, delta));
      const residual = net.residual({ ids: vIds, hooks, from: { layer: LAYER, residual: below! } }, net.spec.layers - 1);
      const picked = indexSelect(reshape(residual, [R * S, hidden]), 0, vRows);
      const logits = reshape(net.head(reshape(picked, [1, R, hidden])), [R, V]);
      const loss = neg(sum(takeAlongLast(logSoftmax(logits), vTargets)));
      return engine.keep(engine.grad(loss, [delta])[0]!);
    });
    delta.dispose();
    return grad;
  };

  const check = async (mode: string) => {
    // (the first run of a mode also compiles its pipelines and times its matmul tiles)
    const last = await forward();
    const lastValues = (await last.values()) as Float32Array;
    last.dispose();
    const g = await forwardBackward();
    const gradValues = (await g.values()) as Float32Array;
    g.dispose();
    const v = await vstarStep(); // (its shapes' tiles timed here, not in its timing: 2026-12-07's first figure had them)
    await v.values();
    v.dispose();
    console.log(JSON.stringify({ mode, check: 'last-position logits vs PyTorch fp32', relError: relError(lastValues, expected.lastLogits.flat()) }));
    console.log(JSON.stringify({ mode, check: `d(log-likelihood)/d(mlp_out ${LAYER} delta) vs PyTorch fp32`, relError: relError(gradValues, expected.grad) }));
  };

  const time = async (mode: string) => {
    const reps = 5;
    for (const [name, run] of [
      ['forward_s', forward],
      ['forward_backward_s', forwardBackward],
      [`vstar_step_${R}x${S}_s`, vstarStep],
      // the same with the first submit after a read at 256 passes (before the backend's ramp)
      [`vstar_step_${R}x${S}_submit256_s`, async () => {
        backend.firstSubmit = 256;
        await backend.sync(); // (a wait: the GPU idle, the next submit after firstSubmit passes)
        try {
          return await vstarStep();
        } finally {
          backend.firstSubmit = 16;
        }
      }],
    ] as const) {
      backend.resetPeak();
      let recordMs = 0;
      t = performance.now();
      for (let i = 0; i < reps; i++) {
        const r = performance.now();
        const out = await run();
        recordMs += performance.now() - r; // the engine's recording (dispatches submitted as it goes)
        await out.values(); // waits for the GPU
        out.dispose();
      }
      const seconds = (performance.now() - t) / 1000 / reps;
      console.log(JSON.stringify({ ours: `webgpu ${mode}`, [name]: seconds, record_s: recordMs / 1000 / reps, peak_gib: backend.peakBytes / 2 ** 30, weights_gib: weightBytes() / 2 ** 30 }));
    }
    // LOCUS_WGPU_PROFILE=1: one more forward + backward with every dispatch timed on the GPU
    if (process.env.LOCUS_WGPU_PROFILE === '1') for (const [what, run] of [['forward+backward', forwardBackward], [`v* step ${R}x${S}`, vstarStep]] as const) {
      const byKernel = await backend.profile(async () => {
        const g = await run();
        await g.values();
        g.dispose();
      });
      const rows = [...byKernel].sort((x, y) => y[1].seconds - x[1].seconds);
      const total = rows.reduce((acc, [, v]) => acc + v.seconds, 0);
      const calls = rows.reduce((acc, [, v]) => acc + v.calls, 0);
      console.log(JSON.stringify({ profile: `webgpu ${mode}: ${what}, GPU time by kernel (timestamps)`, total_ms: total * 1e3, dispatches: calls }));
      for (const [kernel, v] of rows.slice(0, 25)) console.log(JSON.stringify({ kernel, calls: v.calls, ms: +(v.seconds * 1e3).toFixed(3) }));
    }
  };
  const params = [...net.params.values()];
  const weightBytes = () => params.reduce((acc, p) => acc + (backend.isHeldInF16(p.data) ? p.size * 2 : p.size * 4), 0);

  await check('f32');
  await time('f32');
  for (const entry of backend.tuner.log) console.log(JSON.stringify({ tuned: entry.shape, chosen: entry.chosen, ms: Object.fromEntries(Object.entries(entry.seconds).map(([k, v]) => [k, +(v * 1e3).toFixed(3)])) }));

  // f16: weight matrices held in f16, every product f16-input / f32-accumulate
  if (process.env.LOCUS_XL_F16 !== '0') {
    for (const p of params) if (p.shape.length === 2) backend.holdInF16(p.data);
    backend.matmulPrecision = 'f16';
    // the tensor-core kernel's operand forms on (coop-check.sh turns on those the GPU passes)
    const forms = [backend.coopReadsF32 && 'f32read', backend.coopTransposes && 'kernelT', backend.coopHalfLoads && 'f16load'].filter(Boolean);
    const mode = `f16 weights, f16 matmul (${backend.halfKernel}${forms.length ? ` ${forms.join('+')}` : ''})`;
    console.log(JSON.stringify({ mode, gpuBytes: backend.bytesInUse(), weights_gib: weightBytes() / 2 ** 30 }));
    await check(mode);
    await time(mode);
    for (const entry of [...backend.coopTuner.log, ...backend.halfTuner.log])
      console.log(JSON.stringify({ tuned: entry.shape, chosen: entry.chosen, ms: Object.fromEntries(Object.entries(entry.seconds).map(([k, v]) => [k, +(v * 1e3).toFixed(3)])) }));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
