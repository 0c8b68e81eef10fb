import { describe, expect, it } from 'vitest';
import { uniformArray } from '../../lib/random';
import { cholesky, choleskySolve, choleskySolveMany } from './linalg';

/** The textbook loop the blocked factorisation must reproduce bit for bit. */
function plainCholesky(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]!;
    for (let k = 0; k < j; k++) d -= l[j * n + k]! * l[j * n + k]!;
    l[j * n + j] = Math.sqrt(d);
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = s / l[j * n + j]!;
    }
  }
  return l;
}

function spd(n: number, seed: number): Float64Array {
  const m = uniformArray(n * n, seed, -1, 1);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = i === j ? 0.1 : 0;
    for (let k = 0; k < n; k++) s += m[i * n + k]! * m[j * n + k]!;
    a[i * n + j] = s;
  }
  return a;
}

describe('cholesky', () => {
  it('gives the same bits as the textbook loop for every size modulo its 4-column blocks', () => {
    for (const n of [1, 2, 3, 4, 5, 6, 7, 9, 38]) expect(cholesky(spd(n, n), n)).toEqual(plainCholesky(spd(n, n), n));
  });

  it('solves a random SPD system to 1e-9', () => {
    const n = 40;
    const m = uniformArray(n * n, 3, -1, 1);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let s = i === j ? 0.1 : 0;
      for (let k = 0; k < n; k++) s += m[i * n + k]! * m[j * n + k]!;
      a[i * n + j] = s;
    }
    const x = Float64Array.from(uniformArray(n, 4, -1, 1));
    const b = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) b[i]! += a[i * n + j]! * x[j]!;
    const solved = choleskySolve(cholesky(a, n), n, b);
    for (let i = 0; i < n; i++) expect(Math.abs(solved[i]! - x[i]!)).toBeLessThan(1e-9);
  });

  it('solves many right-hand sides at once as it solves each alone', () => {
    const [n, m] = [37, 5];
    const l = cholesky(spd(n, 7), n);
    const b = Float64Array.from(uniformArray(n * m, 8, -1, 1)); // [n, m]
    const together = choleskySolveMany(l, n, b, m);
    for (let j = 0; j < m; j++) {
      const alone = choleskySolve(l, n, Array.from({ length: n }, (_, i) => b[i * m + j]!));
      for (let i = 0; i < n; i++) expect(Math.abs(together[i * m + j]! - alone[i]!)).toBeLessThan(1e-9 * Math.max(1, Math.abs(alone[i]!)));
    }
  });

  it('refuses a matrix that is not positive definite', () => {
    expect(() => cholesky(Float64Array.from([1, 2, 2, 1]), 2)).toThrow(/not positive definite \(pivot 1/);
  });
});
