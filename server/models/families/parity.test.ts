import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CpuBackend, Engine } from '../../engine';
import { logSoftmax, narrow, sum, takeAlongLast } from '../../engine/ops';
import { openSafetensors } from '../formats/safetensors';
import { captureInto, Hooks } from '../hooks';
import { loadCheckpointDir } from '../load';

/**
 * Parity with PyTorch: reference/make_parity_fixtures.py built tiny random-weight models of each
 * family with transformers on the GPU machine and saved what PyTorch computed (f32, CPU).
 */
const FIXTURES = path.resolve(__dirname, '../../../data/fixtures/parity');
const FAMILIES = ['gpt2', 'gptj', 'llama', 'neox', 'neox-sequential'];
const engine = new Engine(new CpuBackend());

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, keep: (i: number) => boolean = () => true): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) if (keep(i)) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe.each(FAMILIES)('%s matches PyTorch', (family) => {
  const dir = path.join(FIXTURES, family);

  it('logits (max abs error < 1e-4), padded batch, and the gradient at an MLP output', async () => {
    const expected = await openSafetensors(path.join(dir, 'expected.safetensors'));
    const read = async (name: string) => (await expected.read(name)).data;
    const model = await loadCheckpointDir(engine, dir);
    const idsRaw = (await read('input_ids')) as Int32Array;
    const [b, t] = (await expected.read('input_ids')).shape as [number, number];
    const ids = engine.tensor(idsRaw, [b, t], 'i32');

    // unpadded batch + gradient of the targets' log-likelihood w.r.t. layer 1's MLP output
    const captured = new Map();
    const hooks = new Hooks().on('mlp_out', 1, captureInto(captured, { grad: true }));
    const { logits } = model.forward({ ids, hooks });
    expect(maxAbsDiff(logits.valuesSync(), await read('logits'))).toBeLessThan(1e-4);
    const targets = engine.tensor((await read('targets')) as Int32Array, [b, t], 'i32');
    const loss = sum(takeAlongLast(logSoftmax(logits), targets));
    const [grad] = engine.grad(loss, [captured.get('mlp_out.1')]);
    const expectedGrad = await read('mlp_out_grad_layer1');
    const gradError = maxAbsDiff(grad!.valuesSync(), expectedGrad);
    const gradScale = Math.max(...Array.from(expectedGrad, Math.abs));
    expect(gradError / gradScale).toBeLessThan(1e-4);

    // left-padded batch: the second sequence has two pads; compare real positions only
    const mask = (await read('padded_mask')) as Int32Array;
    const rows = Array.from({ length: b }, (_, i) => Array.from(mask.subarray(i * t, (i + 1) * t)));
    const padded = engine.noGrad(() => model.forward({ ids, attentionMask: rows }).logits);
    const vocab = padded.shape[2]!;
    const real = (i: number) => mask[Math.floor(i / vocab)] === 1;
    expect(maxAbsDiff(padded.valuesSync(), await read('padded_logits'), real)).toBeLessThan(1e-4);
    for (const x of captured.values()) x.dispose();
    model.dispose();
  });

  it('a KV cache gives the same logits as one full pass', async () => {
    const expected = await openSafetensors(path.join(dir, 'expected.safetensors'));
    const { data, shape } = await expected.read('input_ids');
    const [b, t] = shape as [number, number];
    const model = await loadCheckpointDir(engine, dir);
    const cache = model.newCache();
    const ids = engine.tensor(data as Int32Array, [b, t], 'i32');
    const full = engine.noGrad(() => model.forward({ ids }).logits.valuesSync());
    const first = engine.noGrad(() => model.forward({ ids: narrow(ids, 1, 0, 4), cache }).logits);
    const rest = engine.noGrad(() => model.forward({ ids: narrow(ids, 1, 4, t - 4), cache }).logits);
    const vocab = first.shape[2]!;
    const stitched = new Float32Array(b * t * vocab);
    const fv = first.valuesSync();
    const rv = rest.valuesSync();
    for (let i = 0; i < b; i++) {
      stitched.set(fv.subarray(i * 4 * vocab, (i + 1) * 4 * vocab), i * t * vocab);
      stitched.set(rv.subarray(i * (t - 4) * vocab, (i + 1) * (t - 4) * vocab), (i * t + 4) * vocab);
    }
    expect(maxAbsDiff(stitched, full)).toBeLessThan(1e-4);
    cache.dispose();
    model.dispose();
  });
});
