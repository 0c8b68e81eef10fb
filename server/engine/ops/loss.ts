import { EngineError, expectDType, fmtShape } from '../errors';
import type { Tensor } from '../tensor';
import { div, exp, mul, neg, sub } from './elementwise';
import { logSoftmax } from './nn';
import { mean, sum } from './reduce';
import { expectF32 } from './util';

/** Picking, losses and divergences over the last (vocabulary) axis. */

/** out[...] = x[..., indices[...]]: x [..., V], indices i32 [...] (torch.gather on the last axis). */
export function takeAlongLast(x: Tensor, indices: Tensor): Tensor {
  expectF32('takeAlongLast', ['x', x]);
  expectDType('takeAlongLast', 'indices', indices.dtype, ['i32']);
  const lead = x.shape.slice(0, -1);
  if (indices.rank !== lead.length || indices.shape.some((d, i) => d !== lead[i])) {
    throw new EngineError('takeAlongLast', `indices ${fmtShape(indices.shape)} vs x ${fmtShape(x.shape)}: expected ${fmtShape(lead)}`);
  }
  const e = x.engine;
  const dim = x.shape[x.rank - 1]!;
  const rows = indices.size;
  const out = e.wrap(e.backend.takeAlongLast(x.data, indices.data, rows, dim), lead);
  return e.record('takeAlongLast', [x, indices], out, [indices], (g, [idx]) => [
    e.wrap(e.backend.putAlongLast(g.data, idx!.data, rows, dim), x.shape),
    null,
  ]);
}

export type Reduction = 'mean' | 'sum' | 'none';

function reduce(x: Tensor, weights: Tensor | undefined, reduction: Reduction): Tensor {
  const weighted = weights ? mul(x, weights) : x;
  if (reduction === 'none') return weighted;
  if (reduction === 'sum') return sum(weighted);
  if (!weights) return mean(weighted);
  // mean over the positions that count (weights are a 0/1 mask, e.g. the target tokens only)
  return div(sum(weighted), sum(weights));
}

/** Negative log-likelihood of `targets` under log-probabilities [..., V]. */
export function nll(logProbs: Tensor, targets: Tensor, opts: { weights?: Tensor; reduction?: Reduction } = {}): Tensor {
  return reduce(neg(takeAlongLast(logProbs, targets)), opts.weights, opts.reduction ?? 'mean');
}

/** Cross-entropy of logits [..., V] against i32 targets [...]; `weights` masks positions. */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: { weights?: Tensor; reduction?: Reduction } = {}): Tensor {
  return nll(logSoftmax(logits), targets, opts);
}

/** KL(p || q) per row from log-probabilities over the last axis: sum p (log p - log q). */
export function klDivergence(logP: Tensor, logQ: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  const perRow = sum(mul(exp(logP), sub(logP, logQ)), -1);
  return reduce(perRow, undefined, opts.reduction ?? 'mean');
}
