import type { BinaryOp, UnaryOp } from '../backend';
import { broadcastShapes } from '../shape';
import type { Tensor } from '../tensor';
import { unbroadcast } from './layout';
import { expectF32, sameEngine } from './util';

/** Element-wise ops. Binary ops broadcast like numpy; each backward sums back to input shapes. */

function unaryKernel(op: UnaryOp, x: Tensor): Tensor {
  expectF32(op, ['x', x]);
  const e = x.engine;
  return e.wrap(e.backend.unary(op, x.data, x.size), x.shape);
}

export const neg = (x: Tensor): Tensor => x.engine.record('neg', [x], unaryKernel('neg', x), [], (g) => [neg(g)]);

export const exp = (x: Tensor): Tensor => {
  const y = unaryKernel('exp', x);
  return x.engine.record('exp', [x], y, [y], (g, [ys]) => [mul(g, ys!)]);
};

export const log = (x: Tensor): Tensor => x.engine.record('log', [x], unaryKernel('log', x), [x], (g, [xs]) => [div(g, xs!)]);

export const sqrt = (x: Tensor): Tensor => {
  const y = unaryKernel('sqrt', x);
  return x.engine.record('sqrt', [x], y, [y], (g, [ys]) => [div(mulScalar(g, 0.5), ys!)]);
};

export const rsqrt = (x: Tensor): Tensor => {
  const y = unaryKernel('rsqrt', x);
  // d/dx x^-1/2 = -1/2 x^-3/2 = -1/2 y^3
  return x.engine.record('rsqrt', [x], y, [y], (g, [ys]) => [mul(mulScalar(g, -0.5), mul(ys!, square(ys!)))]);
};

export const abs = (x: Tensor): Tensor => x.engine.record('abs', [x], unaryKernel('abs', x), [x], (g, [xs]) => [mul(g, unaryKernel('sign', xs!))]);

export const square = (x: Tensor): Tensor => x.engine.record('square', [x], unaryKernel('square', x), [x], (g, [xs]) => [mul(g, mulScalar(xs!, 2))]);

export const reciprocal = (x: Tensor): Tensor => {
  const y = unaryKernel('reciprocal', x);
  return x.engine.record('reciprocal', [x], y, [y], (g, [ys]) => [neg(mul(g, square(ys!)))]);
};

export const tanh = (x: Tensor): Tensor => {
  const y = unaryKernel('tanh', x);
  // 1 - tanh^2
  return x.engine.record('tanh', [x], y, [y], (g, [ys]) => [mul(g, addScalar(neg(square(ys!)), 1))]);
};

export const erf = (x: Tensor): Tensor =>
  // d/dx erf = 2/sqrt(pi) exp(-x^2)
  x.engine.record('erf', [x], unaryKernel('erf', x), [x], (g, [xs]) => [mul(g, mulScalar(exp(neg(square(xs!))), 2 / Math.sqrt(Math.PI)))]);

export const sigmoid = (x: Tensor): Tensor => {
  const y = unaryKernel('sigmoid', x);
  return x.engine.record('sigmoid', [x], y, [y], (g, [ys]) => [mul(g, mul(ys!, addScalar(neg(ys!), 1)))]);
};

export const relu = (x: Tensor): Tensor => x.engine.record('relu', [x], unaryKernel('relu', x), [x], (g, [xs]) => [mul(g, unaryKernel('step', xs!))]);

/** GELU: 'tanh' is GPT-2/GPT-J/NeoX's approximation ("gelu_new"), 'erf' the exact form. */
export function gelu(x: Tensor, approximate: 'tanh' | 'erf' = 'tanh'): Tensor {
  const [fwd, grad] = approximate === 'tanh' ? (['geluTanh', 'geluTanhGrad'] as const) : (['geluErf', 'geluErfGrad'] as const);
  return x.engine.record(fwd, [x], unaryKernel(fwd, x), [x], (g, [xs]) => [mul(g, unaryKernel(grad, xs!))]);
}

/** SiLU (swish), Llama's MLP activation. */
export const silu = (x: Tensor): Tensor => x.engine.record('silu', [x], unaryKernel('silu', x), [x], (g, [xs]) => [mul(g, unaryKernel('siluGrad', xs!))]);

/** x * scale + shift with plain numbers. */
export function affine(x: Tensor, scale: number, shift: number): Tensor {
  expectF32('affine', ['x', x]);
  const e = x.engine;
  const out = e.wrap(e.backend.affine(x.data, x.size, scale, shift), x.shape);
  return e.record('affine', [x], out, [], (g) => [mulScalar(g, scale)]);
}

export const mulScalar = (x: Tensor, s: number): Tensor => affine(x, s, 0);
export const addScalar = (x: Tensor, s: number): Tensor => affine(x, 1, s);

/** Clamps to [lo, hi]; the gradient passes where the value was inside. */
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  expectF32('clamp', ['x', x]);
  const e = x.engine;
  const out = e.wrap(e.backend.clamp(x.data, x.size, lo, hi), x.shape);
  return e.record('clamp', [x], out, [x], (g, [xs]) => {
    const inside = mul(binary('greater', xs!, e.scalar(lo)), binary('greater', e.scalar(hi), xs!));
    return [mul(g, inside)];
  });
}

/** The raw broadcasting kernel, without a gradient (comparisons, and building blocks). */
export function binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  expectF32(op, ['a', a], ['b', b]);
  sameEngine(op, a, b);
  const e = a.engine;
  const shape = broadcastShapes(op, a.shape, b.shape);
  return e.wrap(e.backend.binary(op, a.data, a.shape, b.data, b.shape, shape), shape);
}

export function add(a: Tensor, b: Tensor): Tensor {
  // Only the inputs that need a gradient get one: a frozen bias's would be a reduction over every row.
  return a.engine.record('add', [a, b], binary('add', a, b), [], (g) => [a.requiresGrad ? unbroadcast(g, a.shape) : null, b.requiresGrad ? unbroadcast(g, b.shape) : null]);
}

export function sub(a: Tensor, b: Tensor): Tensor {
  return a.engine.record('sub', [a, b], binary('sub', a, b), [], (g) => [a.requiresGrad ? unbroadcast(g, a.shape) : null, b.requiresGrad ? unbroadcast(neg(g), b.shape) : null]);
}

export function mul(a: Tensor, b: Tensor): Tensor {
  return a.engine.record('mul', [a, b], binary('mul', a, b), [a, b], (g, [as, bs]) => [
    a.requiresGrad ? unbroadcast(mul(g, bs!), a.shape) : null,
    b.requiresGrad ? unbroadcast(mul(g, as!), b.shape) : null,
  ]);
}

export function div(a: Tensor, b: Tensor): Tensor {
  return a.engine.record('div', [a, b], binary('div', a, b), [a, b], (g, [as, bs]) => [
    a.requiresGrad ? unbroadcast(div(g, bs!), a.shape) : null,
    // d(a/b)/db = -a / b^2
    b.requiresGrad ? unbroadcast(neg(div(mul(g, as!), square(bs!))), b.shape) : null,
  ]);
}

/** a ** b for positive a (or integer b); the gradient in b uses log(a). */
export function pow(a: Tensor, b: Tensor): Tensor {
  const y = binary('pow', a, b);
  return a.engine.record('pow', [a, b], y, [a, b, y], (g, [as, bs, ys]) => [
    a.requiresGrad ? unbroadcast(mul(g, mul(bs!, binary('pow', as!, addScalar(bs!, -1)))), a.shape) : null,
    b.requiresGrad ? unbroadcast(mul(g, mul(ys!, log(as!))), b.shape) : null,
  ]);
}

/** Element-wise maximum; at ties the gradient goes to a. */
export function maximum(a: Tensor, b: Tensor): Tensor {
  return a.engine.record('maximum', [a, b], binary('maximum', a, b), [a, b], (g, [as, bs]) => {
    const aWins = addScalar(neg(binary('greater', bs!, as!)), 1);
    return [a.requiresGrad ? unbroadcast(mul(g, aWins), a.shape) : null, b.requiresGrad ? unbroadcast(mul(g, addScalar(neg(aWins), 1)), b.shape) : null];
  });
}

/** Element-wise minimum; at ties the gradient goes to a. */
export function minimum(a: Tensor, b: Tensor): Tensor {
  return neg(maximum(neg(a), neg(b)));
}

/** cond ? a : b element-wise (cond is a 0/1 mask of the same shape, not differentiated). */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  expectF32('where', ['cond', cond], ['a', a], ['b', b]);
  const shape = broadcastShapes('where', broadcastShapes('where', cond.shape, a.shape), b.shape);
  const e = a.engine;
  const ones = e.ones(shape);
  const [c, x, y] = [cond, a, b].map((t) => binary('mul', ones, t)) as [Tensor, Tensor, Tensor];
  const out = e.wrap(e.backend.where(c.data, x.data, y.data, ones.size), shape);
  for (const t of [ones, c, x, y]) t.dispose();
  return e.record('where', [cond, a, b], out, [cond], (g, [cs]) => [
    null,
    a.requiresGrad ? unbroadcast(mul(g, cs!), a.shape) : null,
    b.requiresGrad ? unbroadcast(mul(g, addScalar(neg(cs!), 1)), b.shape) : null,
  ]);
}
