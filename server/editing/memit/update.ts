import { cholesky, choleskySolveMany } from '../linalg';

/**
 * adj = (λ C + K Kᵀ)⁻¹ K  [F, n], by the Woodbury identity
 *   (λ C + K Kᵀ)⁻¹ K = C⁻¹ K (λ I + Kᵀ C⁻¹ K)⁻¹,
 * so only C's cached Cholesky factor (F × F, computed once per layer) and an n × n system are
 * needed: n solves of F² each instead of a fresh F³ factorisation per batch. `keys` holds one
 * key [F] per fact.
 */
export function adjustedKeys(covarianceFactor: Float64Array, f: number, keys: readonly ArrayLike<number>[], lambda: number): Float64Array[] {
  const n = keys.length;
  // K and C⁻¹K as [F, n] (row t: component t of every key)
  const k = new Float64Array(f * n);
  keys.forEach((key, j) => {
    for (let t = 0; t < f; t++) k[t * n + j] = key[t]!;
  });
  const cinvK = choleskySolveMany(covarianceFactor, f, k, n);
  // S = λ I + Kᵀ C⁻¹ K  [n, n], symmetric positive definite: its upper triangle, then mirrored
  const s = new Float64Array(n * n);
  for (let t = 0; t < f; t++) {
    const kt = t * n;
    for (let i = 0; i < n; i++) {
      const ki = k[kt + i]!;
      if (ki === 0) continue;
      const si = i * n;
      for (let j = i; j < n; j++) s[si + j]! += ki * cinvK[kt + j]!;
    }
  }
  for (let i = 0; i < n; i++) {
    s[i * n + i]! += lambda;
    for (let j = 0; j < i; j++) s[i * n + j] = s[j * n + i]!;
  }
  // adjᵀ = S⁻¹ (C⁻¹K)ᵀ [n, F]: S's Cholesky factor (n³/3) and F right-hand sides; row j is key j's
  // adjusted key. (A Gauss-Jordan inverse of S and the product C⁻¹K S⁻¹ cost twice as much.)
  let factor: Float64Array;
  try {
    factor = cholesky(s, n);
  } catch {
    throw new Error('MEMIT: λ I + Kᵀ C⁻¹ K is not positive definite (duplicate keys with λ = 0?)');
  }
  const rhs = new Float64Array(n * f);
  for (let t = 0; t < f; t++) for (let j = 0; j < n; j++) rhs[j * f + t] = cinvK[t * n + j]!;
  const x = choleskySolveMany(factor, n, rhs, f);
  return Array.from({ length: n }, (_, j) => x.subarray(j * f, (j + 1) * f));
}
