import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CpuBackend, Engine, type Tensor } from '../engine';
import { add, mul } from '../engine/ops';
import { gradCheck } from '../engine/testing/gradcheck';
import { slotOutput, type SlotGroup } from './ffn-slots';
import { Hooks } from './hooks';
import { loadCheckpointDir } from './load';

const engine = new Engine(new CpuBackend());
const FIXTURES = path.resolve(__dirname, '../../data/fixtures/parity');

function wave(n: number, seed: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.731 + seed) * scale);
}

function group(layer: number, count: number, width: number, seed: number, activation: SlotGroup['activation'] = 'relu'): SlotGroup {
  return { layer, count, width, activation, keys: wave(count * width, seed, 2), bias: wave(count, seed + 1, 0.5), values: wave(count * width, seed + 2, 1) };
}

describe('slotOutput: act(x·Kᵀ + b)·V', () => {
  it.each(['relu', 'gelu'] as const)('%s: gradients in x, K, b and V match central differences', (activation) => {
    // x [2, 3, 4], K [5, 4], b [5], V [5, 4]. Keys small and biases far from 0, so relu's kink is
    // never within a step of any pre-activation (|x·k| <= 0.4 < 1 <= |b|); slots 0, 2, 4 fire.
    const keys = Array.from(wave(20, 3, 0.1));
    const bias = [2, -3, 1.5, -2.5, 1];
    const result = gradCheck(engine, [{ shape: [2, 3, 4] }, { shape: [5, 4], values: keys }, { shape: [5], values: bias }, { shape: [5, 4] }], (x, k, b, v) => slotOutput(x!, k!, b!, v!, activation));
    expect(result.scale).toBeGreaterThan(0.1);
    expect(result.maxRelError).toBeLessThan(1e-2);
  });

  it('is zero where every pre-activation is negative (relu)', () => {
    const out = engine.tidy(() => {
      const x = engine.tensor([1, 2, 3], [1, 1, 3]);
      const keys = engine.tensor([1, 1, 1, -1, 0, 0], [2, 3]);
      const bias = engine.tensor([-10, -2], [2]);
      const values = engine.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
      return slotOutput(x, keys, bias, values, 'relu').valuesSync();
    });
    expect(Array.from(out)).toEqual([0, 0, 0]);
  });
});

describe.each(['gpt2', 'gptj', 'llama', 'neox', 'neox-sequential'])('%s runs added slots', (family) => {
  it('logits equal the MLP output plus the slots at that layer; removing them restores the logits exactly', async () => {
    const model = await loadCheckpointDir(engine, path.join(FIXTURES, family));
    const { hidden, layers } = model.spec;
    const ids = engine.keep(engine.tensor(Int32Array.from([3, 17, 5, 9, 22, 1]), [2, 3], 'i32'));
    const logits = (hooks?: Hooks) => engine.noGrad(() => engine.tidy(() => model.forward({ ids, hooks }).logits.valuesSync() as Float32Array));
    const base = logits();
    const layer = layers - 1;
    const a = group(layer, 3, hidden, 1);
    const b = group(layer, 2, hidden, 7, 'gelu');
    model.slots.add(a);
    model.slots.add(b);
    const withSlots = logits();
    expect(model.slots.size).toBe(5);

    // the same sum computed by hand through hooks on the unpatched model
    model.slots.remove(a);
    model.slots.remove(b);
    expect(model.slots.size).toBe(0);
    let mlpIn: Tensor | null = null;
    const manual = new Hooks()
      .on('mlp_in', layer, (x) => {
        mlpIn = x;
      })
      .on('mlp_out', layer, (out) => {
        let sum = out;
        for (const g of [a, b]) {
          const k = engine.tensor(g.keys, [g.count, hidden]);
          const v = engine.tensor(g.values, [g.count, hidden]);
          sum = add(sum, slotOutput(mlpIn!, k, engine.tensor(g.bias, [g.count]), v, g.activation));
        }
        return sum;
      });
    const expected = logits(manual);
    const maxDiff = (x: Float32Array, y: Float32Array) => x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i]!)), 0);
    expect(maxDiff(withSlots, expected)).toBeLessThan(1e-5);
    expect(maxDiff(withSlots, base)).toBeGreaterThan(1e-3);
    expect(logits()).toEqual(base);

    // a caller's mlp_out hook sees the MLP output with the slots in it
    model.slots.add(a);
    let seen: Float32Array | null = null;
    logits(new Hooks().on('mlp_out', layer, (out) => void (seen = (out.valuesSync() as Float32Array).slice())));
    model.slots.remove(a);
    let plain: Float32Array | null = null;
    logits(new Hooks().on('mlp_out', layer, (out) => void (plain = (out.valuesSync() as Float32Array).slice())));
    expect(maxDiff(seen!, plain!)).toBeGreaterThan(1e-4);
    ids.dispose();
    model.dispose();
  });
});

describe('slots against the MLP itself', () => {
  it('GPT-2: a gelu slot with neuron j\'s input weights and minus its output row cancels neuron j', async () => {
    const model = await loadCheckpointDir(engine, path.join(FIXTURES, 'gpt2'));
    const { hidden, mlpHidden } = model.spec;
    const layer = 0;
    const j = 11;
    const read = (name: string) => model.params.get(`transformer.h.${layer}.mlp.${name}`)!.valuesSync() as Float32Array;
    const fc = read('c_fc.weight'); // [D, F] (Conv1D)
    const fcBias = read('c_fc.bias'); // [F]
    const proj = read('c_proj.weight'); // [F, D]
    const keys = Float32Array.from({ length: hidden }, (_, i) => fc[i * mlpHidden + j]!);
    const values = Float32Array.from({ length: hidden }, (_, i) => -proj[j * hidden + i]!);
    const ids = engine.keep(engine.tensor(Int32Array.from([4, 8, 15, 16, 23, 42].map((t) => t % 96)), [1, 6], 'i32'));
    const logits = (hooks?: Hooks) => engine.noGrad(() => engine.tidy(() => model.forward({ ids, hooks }).logits.valuesSync() as Float32Array));
    const base = logits();
    const cancel: SlotGroup = { layer, count: 1, width: hidden, activation: 'gelu', keys, bias: Float32Array.of(fcBias[j]!), values };
    model.slots.add(cancel);
    const slotted = logits();
    model.slots.remove(cancel);
    // neuron j zeroed at the MLP key: [B, T, F] with column j set to 0
    const zeroed = logits(
      new Hooks().on('mlp_key', layer, (key) => {
        const mask = engine.tensor(
          Float32Array.from({ length: mlpHidden }, (_, i) => (i === j ? 0 : 1)),
          [mlpHidden],
        );
        return mul(key, mask);
      }),
    );
    const maxDiff = (x: Float32Array, y: Float32Array) => x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i]!)), 0);
    expect(maxDiff(slotted, zeroed)).toBeLessThan(1e-5);
    expect(maxDiff(slotted, base)).toBeGreaterThan(1e-5);
    ids.dispose();
    model.dispose();
  });

  it('refuses a group that does not fit the model, naming what differs', async () => {
    const model = await loadCheckpointDir(engine, path.join(FIXTURES, 'gpt2'));
    const { hidden, layers } = model.spec;
    expect(() => model.slots.add(group(layers, 1, hidden, 0))).toThrow(/layer 2: the model has 2 layers/);
    expect(() => model.slots.add(group(0, 1, hidden + 1, 0))).toThrow(/width 33, the model's hidden size is 32/);
    expect(() => model.slots.add({ ...group(0, 2, hidden, 0), bias: new Float32Array(1) })).toThrow(/bias holds 1 numbers, 2 slots need 2/);
    expect(() => model.slots.remove(group(0, 1, hidden, 0))).toThrow(/never added/);
    model.dispose();
  });
});
