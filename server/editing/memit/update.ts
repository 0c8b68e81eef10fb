import { choleskySolveMany } from '../linalg';

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
  // S = λ I + Kᵀ C⁻¹ K  [n, n], symmetric positive definite
  const s = new Float64Array(n * n);
  for (let t = 0; t < f; t++) {
    const kt = t * n;
    for (let i = 0; i < n; i++) {
      const ki = k[kt + i]!;
      if (ki === 0) continue;
      const si = i * n;
      for (let j = 0; j < n; j++) s[si + j]! += ki * cinvK[kt + j]!;
    }
  }
  for (let i = 0; i < n; i++) s[i * n + i]! += lambda;
  const sInv = invertSmall(s, n);
  // adj = C⁻¹K S⁻¹ [F, n], returned as n columns [F]
  const adj = Array.from({ length: n }, () => new Float64Array(f));
  const row = new Float64Array(n);
  for (let t = 0; t < f; t++) {
    row.fill(0);
    const ct = t * n;
    for (let i = 0; i < n; i++) {
      const c = cinvK[ct + i]!;
      if (c === 0) continue;
      const si = i * n;
      for (let j = 0; j < n; j++) row[j]! += c * sInv[si + j]!;
    }
    for (let j = 0; j < n; j++) adj[j]![t] = row[j]!;
  }
  return adj;
}

/** Inverse of a small (batch × batch) matrix by Gauss-Jordan with partial pivoting. */
function invertSmall(a: Float64Array, n: number): Float64Array {
  const m = Float64Array.from(a);
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]!) > Math.abs(m[p * n + c]!)) p = r;
    if (m[p * n + c] === 0) throw new Error('MEMIT: λ I + Kᵀ C⁻¹ K is singular (duplicate keys with λ = 0?)');
    for (const x of [m, inv]) for (let k = 0; k < n; k++) [x[c * n + k], x[p * n + k]] = [x[p * n + k]!, x[c * n + k]!];
    const d = m[c * n + c]!;
    for (let k = 0; k < n; k++) {
      m[c * n + k]! /= d;
      inv[c * n + k]! /= d;
    }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const factor = m[r * n + c]!;
      if (factor === 0) continue;
      for (let k = 0; k < n; k++) {
        m[r * n + k]! -= factor * m[c * n + k]!;
        inv[r * n + k]! -= factor * inv[c * n + k]!;
      }
    }
  }
  return inv;
}
