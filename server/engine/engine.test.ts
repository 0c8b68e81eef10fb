import { describe, expect, it } from 'vitest';
import { CpuBackend } from './backends/cpu';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from './dtype';
import { Engine } from './engine';
import { EngineError } from './errors';
import * as ops from './ops';
import { Adam, AdamW, SGD } from './optim';

const engine = new Engine(new CpuBackend());
const close = (actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5) => {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(expected[i]!)));
};

describe('dtypes', () => {
  it('converts f16 exactly where representable and rounds to nearest even', () => {
    for (const v of [0, 1, -2, 0.5, 65504, 6.103515625e-5, 5.960464477539063e-8, -0.333251953125]) expect(f16BitsToF32(f32ToF16Bits(v))).toBe(v);
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(f32ToF16Bits(1)); // tie goes to even
    expect(f16BitsToF32(f32ToF16Bits(70000))).toBe(Infinity);
    expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(NaN)))).toBe(true);
  });

  it('converts bf16 by rounding the top half of an f32', () => {
    for (const v of [0, 1, -3, 0.15625, 3.3895313892515355e38]) expect(bf16BitsToF32(f32ToBf16Bits(v))).toBe(v);
    expect(bf16BitsToF32(f32ToBf16Bits(1.00390625))).toBe(1); // 1 + 2^-8 is a tie: rounds to even
    expect(Math.abs(bf16BitsToF32(f32ToBf16Bits(Math.PI)) - Math.PI)).toBeLessThan(0.01);
  });

  it('stores f16 and bf16 tensors and casts them to f32 for compute', () => {
    const bits = Uint16Array.from([1, -2.5, 0.099975586].map(f32ToF16Bits));
    const half = engine.tensor(bits, [3], 'f16');
    close(ops.cast(half, 'f32').valuesSync(), [1, -2.5, 0.099975586]);
    const brain = engine.tensor([1, 2, 3], [3], 'bf16');
    expect(Array.from(brain.valuesSync())).toEqual([1, 2, 3]);
    expect(() => ops.add(half, half)).toThrow(/add: a has dtype f16, expected f32/);
  });
});

describe('errors name the op and the shapes', () => {
  it('matmul with mismatched inner dims', () => {
    const a = engine.zeros([2, 768]);
    const b = engine.zeros([1024, 768]);
    expect(() => ops.matmul(a, b)).toThrow('matmul: a [2,768] vs b [1024,768], inner dims differ (768 vs 1024)');
    expect(ops.matmul(a, b, { transB: true }).shape).toEqual([2, 1024]);
    expect(() => ops.matmul(a, engine.zeros([768, 1024]), { transB: true })).toThrow(EngineError);
  });

  it('broadcasting and reshape', () => {
    expect(() => ops.add(engine.zeros([2, 3]), engine.zeros([4]))).toThrow('add: a [2,3] vs b [4] cannot broadcast');
    expect(() => ops.reshape(engine.zeros([2, 3]), [4, -1])).toThrow(/reshape: cannot reshape \[2,3\]/);
    expect(() => engine.tensor([1, 2, 3], [2, 2])).toThrow('tensor: 3 values for shape [2,2] (4 elements)');
    expect(() => ops.layerNorm(engine.zeros([2, 4]), engine.ones([3]), null)).toThrow('layerNorm: gamma [3] vs x [2,4]: expected [4]');
    expect(() => ops.embedding(engine.zeros([4, 2]), engine.zeros([2]))).toThrow('embedding: ids has dtype f32, expected i32');
  });

  it('use after dispose', () => {
    const t = engine.zeros([2]);
    t.dispose();
    expect(() => ops.neg(t)).toThrow(/used after dispose/);
  });
});

describe('forward values', () => {
  it('matmul matches a direct sum, through both the JS loop and onnxruntime', () => {
    for (const [m, k, n] of [[3, 4, 5], [64, 48, 40]] as const) {
      const a = engine.randn([m, k], { seed: 1 });
      const b = engine.randn([n, k], { seed: 2 });
      const av = a.valuesSync();
      const bv = b.valuesSync();
      const expected = new Float32Array(m * n);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) expected[i * n + j] = expected[i * n + j]! + av[i * k + p]! * bv[j * k + p]!;
      close(ops.matmul(a, b, { transB: true }).valuesSync(), expected, 1e-5);
    }
  });

  it('activations match reference values', () => {
    const x = engine.tensor([-2, -0.5, 0, 1, 3], [5]);
    // torch.nn.functional.gelu(x, approximate='tanh'), gelu(x), silu(x)
    close(ops.gelu(x, 'tanh').valuesSync(), [-0.04540231, -0.15428599, 0, 0.84119199, 2.99636269], 1e-6);
    close(ops.gelu(x, 'erf').valuesSync(), [-0.04550026, -0.15426877, 0, 0.84134475, 2.99595031], 1e-6);
    close(ops.silu(x).valuesSync(), [-0.23840584, -0.18877033, 0, 0.73105858, 2.85772238], 1e-6);
    close(ops.erf(x).valuesSync(), [-0.99532227, -0.52049988, 0, 0.84270079, 0.99997791], 1e-6);
  });

  it('softmax is stable and handles fully masked rows', () => {
    const x = engine.tensor([1000, 1001, 1002, -Infinity, -Infinity, -Infinity], [2, 3]);
    close(ops.softmax(x).valuesSync(), [0.09003057, 0.24472847, 0.66524096, 0, 0, 0]);
    close(ops.logSoftmax(engine.tensor([1, 2, 3], [3])).valuesSync(), [-2.40760596, -1.40760596, -0.40760596]);
  });

  it('layerNorm and rmsNorm normalise rows', () => {
    const x = engine.tensor([1, 2, 3, 4, -1, 0, 1, 10], [2, 4]);
    const ln = ops.layerNorm(x, engine.ones([4]), engine.zeros([4]), 0).valuesSync();
    close(ln.slice(0, 4), [-1.34164079, -0.4472136, 0.4472136, 1.34164079]);
    const rms = ops.rmsNorm(x, engine.tensor([1, 2, 1, 1], [4]), 0).valuesSync();
    const r = Math.sqrt((1 + 4 + 9 + 16) / 4);
    close(rms.slice(0, 4), [1 / r, 4 / r, 3 / r, 4 / r]);
  });

  it('rope rotates pairs by position * theta^(-2i/d): halves (NeoX) and interleaved (GPT-J)', () => {
    const x = engine.tensor([1, 2, 3, 4], [1, 4]);
    const { cos, sin } = ops.ropeTables(x, [2], 4, 10000);
    const a0 = 2;
    const a1 = 2 / 100;
    const half = ops.rope(x, cos, sin, { rotaryDim: 4, interleaved: false }).valuesSync();
    close(half, [1 * Math.cos(a0) - 3 * Math.sin(a0), 2 * Math.cos(a1) - 4 * Math.sin(a1), 3 * Math.cos(a0) + 1 * Math.sin(a0), 4 * Math.cos(a1) + 2 * Math.sin(a1)]);
    const inter = ops.rope(x, cos, sin, { rotaryDim: 4, interleaved: true }).valuesSync();
    close(inter, [1 * Math.cos(a0) - 2 * Math.sin(a0), 2 * Math.cos(a0) + 1 * Math.sin(a0), 3 * Math.cos(a1) - 4 * Math.sin(a1), 4 * Math.cos(a1) + 3 * Math.sin(a1)]);
  });

  it('causal mask hides future keys, with an offset for cached keys', () => {
    const m = ops.causalMask(engine.zeros([1]), 2, 4).valuesSync();
    expect(Array.from(m)).toEqual([0, 0, 0, -Infinity, 0, 0, 0, 0]);
  });

  it('cross-entropy equals -log softmax at the target, averaged over unmasked positions', () => {
    const logits = engine.tensor([2, 1, 0, 0, 0, 3], [2, 3]);
    const targets = engine.tensor(Int32Array.from([0, 2]), [2], 'i32');
    const l0 = -Math.log(Math.exp(2) / (Math.exp(2) + Math.exp(1) + 1));
    const l1 = -Math.log(Math.exp(3) / (2 + Math.exp(3)));
    close(ops.crossEntropy(logits, targets).valuesSync(), [(l0 + l1) / 2]);
    close(ops.crossEntropy(logits, targets, { weights: engine.tensor([0, 1], [2]) }).valuesSync(), [l1]);
    expect(Array.from(ops.argmax(logits).valuesSync())).toEqual([0, 2]);
  });
});

describe('autograd', () => {
  it('gives gradients with respect to an intermediate activation (as ROME and KN need)', () => {
    const w = engine.parameter([1, 2, 3, 4], [2, 2]);
    const x = engine.tensor([1, -1], [1, 2]);
    const hidden = ops.matmul(x, w); // [1,2] = [-2, -2]
    const loss = ops.sum(ops.square(hidden));
    const [gHidden, gW] = engine.grad(loss, [hidden, w]);
    close(gHidden!.valuesSync(), [-4, -4]);
    close(gW!.valuesSync(), [-4, -4, 4, 4]);
    expect(w.grad).toBeNull();
    expect(engine.memory().tapeNodes).toBe(0);
    w.dispose();
  });

  it('accumulates into leaves over two backward passes', () => {
    const w = engine.parameter([3], [1]);
    engine.tidy(() => engine.backward(ops.square(w)));
    engine.tidy(() => engine.backward(ops.square(w)));
    close(w.grad!.valuesSync(), [12]);
    w.dispose();
  });

  it('records nothing under noGrad, and refuses backward through it', () => {
    const w = engine.parameter([1, 2], [2]);
    const y = engine.noGrad(() => ops.sum(ops.mul(w, w)));
    expect(engine.memory().tapeNodes).toBe(0);
    expect(() => engine.backward(y)).toThrow(/does not require grad/);
    w.dispose();
    y.dispose();
  });

  it('keeps saved tensors alive when a scope frees the originals', () => {
    const w = engine.parameter([0.5, -1], [2]);
    const loss = engine.tidy(() => ops.sum(ops.exp(ops.mul(w, engine.tensor([2, 3], [2])))));
    engine.backward(loss);
    close(w.grad!.valuesSync(), [2 * Math.exp(1), 3 * Math.exp(-3)]);
    loss.dispose();
    w.dispose();
  });
});

describe('memory', () => {
  it('tidy frees intermediates and keeps what it returns', () => {
    const before = engine.memory();
    const kept = engine.tidy(() => {
      const a = engine.ones([4, 4]);
      const b = ops.exp(a);
      return { out: ops.sum(b), list: [ops.neg(b)] };
    });
    expect(engine.memory().tensors).toBe(before.tensors + 2);
    kept.out.dispose();
    kept.list[0]!.dispose();
    expect(engine.memory()).toEqual(before);
  });

  it('a training loop of thousands of steps does not leak', () => {
    const w1 = engine.parameter(Array.from(engine.randn([4, 8], { seed: 3, std: 0.5 }).valuesSync()), [4, 8]);
    const w2 = engine.parameter(Array.from(engine.randn([8, 3], { seed: 4, std: 0.5 }).valuesSync()), [8, 3]);
    const gamma = engine.parameter([1, 1, 1, 1, 1, 1, 1, 1], [8]);
    const x = engine.keep(engine.randn([16, 4], { seed: 5 }));
    const y = engine.keep(engine.tensor(Int32Array.from({ length: 16 }, (_, i) => i % 3), [16], 'i32'));
    const opt = new Adam([w1, w2, gamma], { lr: 1e-2 });
    const losses: number[] = [];
    let baseline = engine.memory();
    for (let step = 0; step < 2000; step++) {
      const loss = engine.tidy(() => {
        const h = ops.layerNorm(ops.gelu(ops.matmul(x, w1)), gamma, null);
        const l = ops.crossEntropy(ops.matmul(h, w2), y);
        engine.backward(l);
        return l.valuesSync()[0]!;
      });
      opt.step();
      opt.zeroGrad();
      if (step === 0) baseline = engine.memory(); // after the optimiser allocated its moments
      losses.push(loss);
    }
    expect(engine.memory()).toEqual(baseline);
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! * 0.5);
    for (const t of [w1, w2, gamma, x, y]) t.dispose();
    opt.dispose();
  });
});

describe('optimisers', () => {
  it('Adam takes the textbook first step: lr * sign(g)', () => {
    const p = engine.parameter([1, -1], [2]);
    p.grad = engine.keep(engine.tensor([0.3, -2], [2]));
    const opt = new Adam([p], { lr: 0.1 });
    opt.step();
    close(p.valuesSync(), [0.9, -0.9], 1e-6);
    opt.dispose();
    p.dispose();
  });

  it('AdamW decays weights directly; SGD follows the gradient', () => {
    const p = engine.parameter([2], [1]);
    p.grad = engine.keep(engine.tensor([0], [1]));
    const adamw = new AdamW([p], { lr: 0.1, weightDecay: 0.5, eps: 1 });
    adamw.step();
    close(p.valuesSync(), [2 * (1 - 0.05)], 1e-6);
    adamw.dispose();
    const q = engine.parameter([1], [1]);
    const sgd = new SGD([q], { lr: 0.1 });
    for (let i = 0; i < 50; i++) {
      engine.tidy(() => engine.backward(ops.square(ops.addScalar(q, -3))));
      sgd.step();
      sgd.zeroGrad();
    }
    close(q.valuesSync(), [3], 1e-3);
    p.dispose();
    q.dispose();
  });
});
