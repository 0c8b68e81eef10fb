import type { Engine } from '../engine';
import type { Tensor } from '../tensor';
import { uniformArray } from '../../../lib/random';

export interface GradCheckInput {
  shape: number[];
  /** Values; random in [-1, 1] (seeded) when absent. */
  values?: number[] | Float32Array;
  /** i32 inputs (indices) are passed through without a gradient. */
  ints?: boolean;
}

export interface GradCheckResult {
  maxAbsError: number;
  maxRelError: number;
  /** Largest analytic gradient entry, for scale. */
  scale: number;
}

/**
 * Central finite differences against the engine's backward. The loss is sum(output * R) for a
 * fixed random R and is accumulated in float64 on the host, so the only f32 rounding is the op's.
 */
export function gradCheck(engine: Engine, inputs: GradCheckInput[], fn: (...xs: Tensor[]) => Tensor, opts: { h?: number; seed?: number } = {}): GradCheckResult {
  const h = opts.h ?? 1e-3;
  const seed = opts.seed ?? 7;
  const values = inputs.map((inp, i) =>
    inp.values ? Float32Array.from(inp.values) : uniformArray(inp.shape.reduce((a, b) => a * b, 1), seed + 101 * i, -1, 1),
  );
  const make = (vals: Float32Array[], requiresGrad: boolean) =>
    inputs.map((inp, i) =>
      inp.ints ? engine.tensor(Int32Array.from(vals[i]!), inp.shape, 'i32') : engine.tensor(vals[i]!, inp.shape, 'f32', { requiresGrad }),
    );

  let weights: Float64Array | null = null;
  const lossOf = (vals: Float32Array[]): number =>
    engine.tidy(() => {
      const out = engine.noGrad(() => fn(...make(vals, false)));
      const y = out.valuesSync();
      weights ??= Float64Array.from(uniformArray(y.length, seed + 13, -1, 1));
      let loss = 0;
      for (let i = 0; i < y.length; i++) loss += y[i]! * weights[i]!;
      return loss;
    });
  lossOf(values);

  const analytic = engine.tidy(() => {
    const xs = make(values, true);
    const out = fn(...xs);
    const r = engine.tensor(Float32Array.from(weights!), out.shape);
    const differentiable = xs.filter((_, i) => !inputs[i]!.ints);
    const grads = engine.grad(out, differentiable, { seed: r });
    return grads.map((g, i) => (g ? g.valuesSync() : new Float32Array(differentiable[i]!.size)));
  });

  let maxAbsError = 0;
  let maxRelError = 0;
  const scale = Math.max(0, ...analytic.map((g) => Array.from(g, Math.abs).reduce((m, v) => Math.max(m, v), 0)));
  // Errors are relative to the entry, floored at 1% of the largest gradient: tiny entries carry
  // the loss's f32 rounding, divided by 2h, and would otherwise dominate.
  const floor = Math.max(1e-2, 1e-2 * scale);
  let k = 0;
  inputs.forEach((inp, i) => {
    if (inp.ints) return;
    const g = analytic[k++]!;
    for (let j = 0; j < values[i]!.length; j++) {
      const plus = values.map((v) => v.slice());
      const minus = values.map((v) => v.slice());
      plus[i]![j]! += h;
      minus[i]![j]! -= h;
      const numeric = (lossOf(plus) - lossOf(minus)) / (plus[i]![j]! - minus[i]![j]!);
      const err = Math.abs(numeric - g[j]!);
      maxAbsError = Math.max(maxAbsError, err);
      maxRelError = Math.max(maxRelError, err / Math.max(floor, Math.abs(numeric), Math.abs(g[j]!)));
    }
  });
  return { maxAbsError, maxRelError, scale };
}

/**
 * Finite differences on parameters whose gradients are already computed (a loss over many tensors,
 * e.g. a meta-learning loss): per parameter, its largest gradient entry and two fixed others.
 * Returns the largest analytic entry and the worst error relative to the entry, floored at
 * `floor` x that largest entry (tiny entries carry the f32 loss's rounding divided by 2h).
 */
export function paramGradCheck(engine: Engine, params: readonly Tensor[], analytic: readonly Float32Array[], lossValue: () => number, opts: { h: number; floor: number }): { worst: number; scale: number } {
  const scale = Math.max(...analytic.map((g) => Math.max(...Array.from(g, Math.abs))));
  let worst = 0;
  params.forEach((p, k) => {
    const values = Float32Array.from(p.valuesSync());
    const g = analytic[k]!;
    const largest = g.reduce((best, v, i) => (Math.abs(v) > Math.abs(g[best]!) ? i : best), 0);
    for (const j of new Set([largest, 0, Math.floor(values.length / 2)])) {
      const at = (x: number) => {
        const next = Float32Array.from(values);
        next[j] = x;
        const t = engine.tensor(next, p.shape);
        p.assign(t);
        t.dispose();
        return lossValue();
      };
      const numeric = (at(values[j]! + opts.h) - at(values[j]! - opts.h)) / (2 * opts.h);
      at(values[j]!);
      worst = Math.max(worst, Math.abs(numeric - g[j]!) / Math.max(Math.abs(numeric), Math.abs(g[j]!), opts.floor * scale));
    }
  });
  return { worst, scale };
}
