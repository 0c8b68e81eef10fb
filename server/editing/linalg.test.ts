import { describe, expect, it } from 'vitest';
import { uniformArray } from '../../lib/random';
import { cholesky, choleskySolve } from './linalg';

describe('cholesky', () => {
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

  it('refuses a matrix that is not positive definite', () => {
    expect(() => cholesky(Float64Array.from([1, 2, 2, 1]), 2)).toThrow(/not positive definite \(pivot 1/);
  });
});
