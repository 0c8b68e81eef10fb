import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../backends/cpu';
import { Engine } from '../engine';
import type { Tensor } from '../tensor';
import { gradCheck, type GradCheckInput } from '../testing/gradcheck';
import * as ops from './index';

/**
 * A finite-difference gradient check for every op with a backward. The record is keyed by the op
 * set's exports, so adding a differentiable op without a check here fails to compile.
 */
type NoBackward = 'binary' | 'argmax' | 'causalMask' | 'ropeTables' | 'unbroadcast';
type Differentiable = Exclude<keyof typeof ops, NoBackward>;

interface Case {
  name?: string;
  inputs: GradCheckInput[];
  fn: (...xs: Tensor[]) => Tensor;
  /** Tolerance on the relative error (default 1e-2: f32 central differences). */
  tol?: number;
  /** Finite-difference step (default 1e-3; bilinear ops take a larger one, having no curvature). */
  h?: number;
}

const engine = new Engine(new CpuBackend());
const pos = (n: number, lo = 0.5, hi = 2) => Array.from({ length: n }, (_, i) => lo + ((hi - lo) * ((i * 7919) % 97)) / 97);
// values kept away from the kinks of abs/relu/clamp/max so the central difference is smooth
const awayFromZero = (n: number) => Array.from({ length: n }, (_, i) => (i % 2 ? 1 : -1) * (0.2 + ((i * 37) % 11) / 10));
const ids = (values: number[], shape = [values.length]): GradCheckInput => ({ shape, values, ints: true });

const u = (shape: number[], values?: number[]): GradCheckInput => ({ shape, values });
const unary = (fn: (x: Tensor) => Tensor, values?: number[]): Case[] => [{ inputs: [u([2, 3], values)], fn }];

const cases: Record<Differentiable, Case[]> = {
  neg: unary(ops.neg),
  exp: unary(ops.exp),
  log: unary(ops.log, pos(6)),
  sqrt: unary(ops.sqrt, pos(6)),
  rsqrt: unary(ops.rsqrt, pos(6)),
  abs: unary(ops.abs, awayFromZero(6)),
  square: unary(ops.square),
  reciprocal: unary(ops.reciprocal, pos(6)),
  tanh: unary(ops.tanh),
  erf: unary(ops.erf),
  sigmoid: unary(ops.sigmoid),
  relu: unary(ops.relu, awayFromZero(6)),
  gelu: [
    { name: 'tanh', inputs: [u([2, 5], [-3, -1.5, -0.5, 0, 0.3, 0.8, 1.2, 2, 3.5, -2.2])], fn: (x) => ops.gelu(x, 'tanh') },
    { name: 'erf', inputs: [u([2, 5], [-3, -1.5, -0.5, 0, 0.3, 0.8, 1.2, 2, 3.5, -2.2])], fn: (x) => ops.gelu(x, 'erf') },
  ],
  silu: unary(ops.silu, [-3, -1, -0.2, 0.4, 1.5, 3]),
  affine: unary((x) => ops.affine(x, -1.5, 0.25)),
  mulScalar: unary((x) => ops.mulScalar(x, 3)),
  addScalar: unary((x) => ops.addScalar(x, -2)),
  clamp: unary((x) => ops.clamp(x, -0.5, 0.5), [-0.9, -0.3, 0.1, 0.45, 0.7, -0.6]),
  add: [
    { inputs: [u([2, 3]), u([2, 3])], fn: ops.add },
    { name: 'broadcast', inputs: [u([2, 1, 3]), u([4, 1])], fn: ops.add },
  ],
  sub: [{ name: 'broadcast', inputs: [u([3]), u([2, 3])], fn: ops.sub }],
  mul: [
    { inputs: [u([2, 3]), u([2, 3])], fn: ops.mul },
    { name: 'broadcast', inputs: [u([2, 3, 1]), u([1, 4])], fn: ops.mul },
    { name: 'same tensor twice', inputs: [u([4])], fn: (x) => ops.mul(x, x) },
  ],
  div: [{ name: 'broadcast', inputs: [u([2, 3]), u([3], pos(3))], fn: ops.div }],
  pow: [{ inputs: [u([2, 2], pos(4)), u([2, 2], [0.5, 1.5, 2, -1])], fn: ops.pow }],
  maximum: [{ inputs: [u([6], awayFromZero(6)), u([6], [0.1, 0.1, -0.1, 0.05, 0, 0.3])], fn: ops.maximum }],
  minimum: [{ inputs: [u([6], awayFromZero(6)), u([6], [0.1, 0.1, -0.1, 0.05, 0, 0.3])], fn: ops.minimum }],
  where: [
    {
      inputs: [u([2, 3], [1, 0, 1, 0, 0, 1]), u([2, 3]), u([3])],
      fn: (c, a, b) => ops.where(c!, a!, b!),
    },
  ],
  sum: [
    { name: 'all', inputs: [u([2, 3, 4])], fn: (x) => ops.sum(x) },
    { name: 'axes 0,2', inputs: [u([2, 3, 4])], fn: (x) => ops.sum(x, [0, 2]) },
    { name: 'last keepDims', inputs: [u([2, 3, 4])], fn: (x) => ops.sum(x, -1, true) },
  ],
  mean: [{ inputs: [u([3, 4])], fn: (x) => ops.mean(x, 1) }],
  max: [{ inputs: [u([3, 4], [0.1, 0.9, -0.3, 0.2, 1.5, 0.4, -0.7, 0.3, -1, -0.2, -0.8, -0.5])], fn: (x) => ops.max(x, -1) }],
  reshape: [{ inputs: [u([2, 6])], fn: (x) => ops.mul(ops.reshape(x, [3, -1]), ops.reshape(x, [3, 4])) }],
  permute: [{ inputs: [u([2, 3, 4])], fn: (x) => ops.permute(x, [2, 0, 1]) }],
  transpose: [{ inputs: [u([2, 3, 4])], fn: (x) => ops.transpose(x, 0, 2) }],
  slice: [{ inputs: [u([3, 4, 2])], fn: (x) => ops.slice(x, [1, 1, 0], [2, -1, 1]) }],
  narrow: [{ inputs: [u([3, 5])], fn: (x) => ops.narrow(x, 1, 2, 2) }],
  concat: [{ inputs: [u([2, 3]), u([2, 1]), u([2, 2])], fn: (...xs) => ops.concat(xs, 1) }],
  indexSelect: [{ inputs: [u([3, 4, 2]), ids([2, 0, 2], [3])], fn: (x, i) => ops.indexSelect(x!, 1, i!) }],
  broadcastTo: [{ inputs: [u([3, 1])], fn: (x) => ops.broadcastTo(x, [2, 3, 4]) }],
  cast: [{ inputs: [u([2, 3])], fn: (x) => ops.mul(ops.cast(x, 'f32'), x) }],
  matmul: [
    { name: 'a @ b', inputs: [u([3, 4]), u([4, 5])], fn: (a, b) => ops.matmul(a!, b!) },
    { name: 'a @ b^T', inputs: [u([3, 4]), u([5, 4])], fn: (a, b) => ops.matmul(a!, b!, { transB: true }) },
    { name: 'a^T @ b', inputs: [u([4, 3]), u([4, 5])], fn: (a, b) => ops.matmul(a!, b!, { transA: true }) },
    { name: 'a^T @ b^T', inputs: [u([4, 3]), u([5, 4])], fn: (a, b) => ops.matmul(a!, b!, { transA: true, transB: true }) },
    { name: 'batched broadcast', inputs: [u([2, 1, 3, 4]), u([3, 4, 2])], fn: (a, b) => ops.matmul(a!, b!) },
    { name: 'rows @ matrix', inputs: [u([2, 3, 4]), u([4, 5])], fn: (a, b) => ops.matmul(a!, b!) },
    // large enough to go through onnxruntime rather than the small-product loop
    { name: 'native path', inputs: [u([2, 40, 40]), u([2, 40, 40])], fn: (a, b) => ops.matmul(a!, b!, { transB: true }), h: 1e-2 },
  ],
  softmax: [{ inputs: [u([3, 5])], fn: ops.softmax }],
  logSoftmax: [{ inputs: [u([3, 5])], fn: ops.logSoftmax }],
  layerNorm: [
    { inputs: [u([3, 6]), u([6]), u([6])], fn: (x, g, b) => ops.layerNorm(x!, g!, b!) },
    { name: 'no beta', inputs: [u([2, 2, 5]), u([5])], fn: (x, g) => ops.layerNorm(x!, g!, null) },
  ],
  rmsNorm: [{ inputs: [u([3, 6]), u([6])], fn: (x, g) => ops.rmsNorm(x!, g!) }],
  rope: [
    { name: 'half-split (NeoX, Llama)', inputs: [u([2, 3, 8])], fn: (x) => ropeAt(x, 8, false) },
    { name: 'interleaved (GPT-J)', inputs: [u([2, 3, 8])], fn: (x) => ropeAt(x, 8, true) },
    { name: 'partial rotary dims', inputs: [u([3, 10])], fn: (x) => ropeAt(x, 4, true) },
    {
      name: 'per-sequence positions',
      inputs: [u([2, 2, 3, 4])],
      fn: (x) => {
        const { cos, sin } = ops.ropeTables(x, [[0, 1, 2], [5, 6, 9]], 4, 10000);
        return ops.rope(x, cos, sin, { rotaryDim: 4, interleaved: false });
      },
    },
  ],
  embedding: [{ inputs: [u([5, 3]), ids([4, 1, 4, 0], [2, 2])], fn: (t, i) => ops.embedding(t!, i!) }],
  addMask: [
    {
      inputs: [u([2, 3, 3])],
      fn: (x) => ops.softmax(ops.addMask(x, ops.causalMask(x, 3, 3))),
    },
  ],
  takeAlongLast: [{ inputs: [u([2, 3, 4]), ids([0, 3, 1, 2, 2, 0], [2, 3])], fn: (x, i) => ops.takeAlongLast(x!, i!) }],
  nll: [{ inputs: [u([3, 4]), ids([1, 0, 3])], fn: (x, i) => ops.nll(ops.logSoftmax(x!), i!) }],
  crossEntropy: [
    { inputs: [u([3, 5]), ids([4, 0, 2])], fn: (x, i) => ops.crossEntropy(x!, i!) },
    {
      name: 'masked',
      inputs: [u([2, 2, 5]), ids([4, 0, 2, 1], [2, 2])],
      fn: (x, i) => ops.crossEntropy(x!, i!, { weights: engine.tensor([0, 1, 1, 1], [2, 2]) }),
    },
  ],
  klDivergence: [{ inputs: [u([3, 5]), u([3, 5])], fn: (p, q) => ops.klDivergence(ops.logSoftmax(p!), ops.logSoftmax(q!)) }],
};

function ropeAt(x: Tensor, rotaryDim: number, interleaved: boolean): Tensor {
  const t = x.shape[x.rank - 2]!;
  const { cos, sin } = ops.ropeTables(x, Array.from({ length: t }, (_, i) => i + 3), rotaryDim, 10000);
  return ops.rope(x, cos, sin, { rotaryDim, interleaved });
}

describe('gradient check (finite differences, CPU backend)', () => {
  for (const [op, list] of Object.entries(cases)) {
    for (const c of list) {
      it(`${op}${c.name ? ` (${c.name})` : ''}`, () => {
        const result = gradCheck(engine, c.inputs, c.fn, { h: c.h });
        expect(result.scale).toBeGreaterThan(0);
        expect(result.maxRelError).toBeLessThan(c.tol ?? 1e-2);
      });
    }
  }

  it('leaves no tensors behind', () => {
    const before = engine.memory();
    gradCheck(engine, cases.layerNorm[0]!.inputs, cases.layerNorm[0]!.fn);
    expect(engine.memory()).toEqual(before);
  });
});
