import { EngineError, fmtShape } from '../errors';
import { broadcastShapes } from '../shape';
import type { Tensor } from '../tensor';
import { reshape, unbroadcast } from './layout';
import { expectF32, sameEngine } from './util';

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

/**
 * Batched matrix product op(a) @ op(b) with numpy broadcasting of the batch dims; op transposes
 * the last two axes when asked (no copy: the kernel reads transposed).
 * a [..., M, K] @ b [..., K, N] -> [..., M, N]
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  expectF32('matmul', ['a', a], ['b', b]);
  sameEngine('matmul', a, b);
  if (a.rank < 2 || b.rank < 2) throw new EngineError('matmul', `a ${fmtShape(a.shape)} and b ${fmtShape(b.shape)} need rank >= 2`);
  // A stack of rows times one matrix is one big product: [..., M, K] @ [K, N] as [(...M), K] @ [K, N].
  if (b.rank === 2 && a.rank > 2 && !transA) {
    const rows = reshape(a, [-1, a.shape[a.rank - 1]!]);
    const out = matmul(rows, b, { transB });
    return reshape(out, [...a.shape.slice(0, -1), out.shape[1]!]);
  }
  const [m, ka] = transA ? [a.shape[a.rank - 1]!, a.shape[a.rank - 2]!] : [a.shape[a.rank - 2]!, a.shape[a.rank - 1]!];
  const [kb, n] = transB ? [b.shape[b.rank - 1]!, b.shape[b.rank - 2]!] : [b.shape[b.rank - 2]!, b.shape[b.rank - 1]!];
  if (ka !== kb) {
    const how = `${transA ? 'a^T' : 'a'} ${fmtShape(a.shape)} vs ${transB ? 'b^T' : 'b'} ${fmtShape(b.shape)}`;
    throw new EngineError('matmul', `${how}, inner dims differ (${ka} vs ${kb})`);
  }
  const batch = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const outShape = [...batch, m, n];
  const e = a.engine;
  const out = e.wrap(e.backend.matmul(a.data, b.data, { aShape: a.shape, bShape: b.shape, transA, transB, outShape }), outShape);
  return e.record('matmul', [a, b], out, [a, b], (g, [as, bs]) => {
    const A = as!;
    const B = bs!;
    // C = op(A) op(B); each case below is dC/dA and dC/dB written as products without copies.
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    if (a.requiresGrad) {
      if (!transA) ga = matmul(g, B, { transB: !transB });
      else ga = transB ? matmul(B, g, { transA: true, transB: true }) : matmul(B, g, { transB: true });
      ga = unbroadcast(ga, a.shape);
    }
    if (b.requiresGrad) {
      if (!transB) gb = transA ? matmul(A, g) : matmul(A, g, { transA: true });
      else gb = transA ? matmul(g, A, { transA: true, transB: true }) : matmul(g, A, { transA: true });
      gb = unbroadcast(gb, b.shape);
    }
    return [ga, gb];
  });
}
