/**
 * Host-side dense linear algebra in float64 for the closed-form steps of ROME and MEMIT: solving
 * with a symmetric positive-definite matrix (C, or λC + K Kᵀ) by Cholesky factorisation, never
 * by forming an inverse. Matrices are row-major Float64Arrays of n × n.
 */

/**
 * Left-looking Cholesky, four columns at a time: for a block of columns j..j+3 the dot products over
 * the finished columns (k < j) are taken for four rows at once (16 sums, 8 loads per k), then each
 * row finishes its four entries in order. The same subtractions in the same order as the plain
 * loop (a minus the products, k ascending), so the same bits as the textbook loop; 3x faster in V8
 * (GPT-2 XL's 6400-wide C: about a minute on one core). Throws when A is not positive definite.
 */
export function cholesky(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  const s = new Float64Array(4 * 4);
  // finishes row i's entries in columns j..j+w-1 from its partial sums s[r*4 + c]; the diagonal when i is in the block
  const finish = (i: number, j: number, w: number, sr: number) => {
    const ri = i * n;
    const last = Math.min(w, i - j + 1);
    for (let c = 0; c < last; c++) {
      const jc = j + c;
      let v = s[sr + c]!;
      for (let cc = 0; cc < c; cc++) v -= l[ri + j + cc]! * l[jc * n + j + cc]!;
      if (jc === i) {
        if (!(v > 0)) throw new Error(`cholesky: matrix is not positive definite (pivot ${i} = ${v})`);
        l[ri + i] = Math.sqrt(v);
      } else l[ri + jc] = v / l[jc * n + jc]!;
    }
  };
  for (let j = 0; j < n; j += 4) {
    const w = Math.min(4, n - j);
    const b0 = j * n, b1 = (j + Math.min(1, w - 1)) * n, b2 = (j + Math.min(2, w - 1)) * n, b3 = (j + Math.min(3, w - 1)) * n;
    let i = j;
    for (; i < n; i += 4) {
      const rows = Math.min(4, n - i);
      const a0 = i * n, a1 = (i + Math.min(1, rows - 1)) * n, a2 = (i + Math.min(2, rows - 1)) * n, a3 = (i + Math.min(3, rows - 1)) * n;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      // start from a (same order as the plain loop: a minus the products, k ascending)
      s00 = a[a0 + j]!; s01 = a[a0 + j + 1] ?? 0; s02 = a[a0 + j + 2] ?? 0; s03 = a[a0 + j + 3] ?? 0;
      s10 = a[a1 + j]!; s11 = a[a1 + j + 1] ?? 0; s12 = a[a1 + j + 2] ?? 0; s13 = a[a1 + j + 3] ?? 0;
      s20 = a[a2 + j]!; s21 = a[a2 + j + 1] ?? 0; s22 = a[a2 + j + 2] ?? 0; s23 = a[a2 + j + 3] ?? 0;
      s30 = a[a3 + j]!; s31 = a[a3 + j + 1] ?? 0; s32 = a[a3 + j + 2] ?? 0; s33 = a[a3 + j + 3] ?? 0;
      for (let k = 0; k < j; k++) {
        const x0 = l[b0 + k]!, x1 = l[b1 + k]!, x2 = l[b2 + k]!, x3 = l[b3 + k]!;
        const p = l[a0 + k]!, q = l[a1 + k]!, r = l[a2 + k]!, t = l[a3 + k]!;
        s00 -= p * x0; s01 -= p * x1; s02 -= p * x2; s03 -= p * x3;
        s10 -= q * x0; s11 -= q * x1; s12 -= q * x2; s13 -= q * x3;
        s20 -= r * x0; s21 -= r * x1; s22 -= r * x2; s23 -= r * x3;
        s30 -= t * x0; s31 -= t * x1; s32 -= t * x2; s33 -= t * x3;
      }
      s[0] = s00; s[1] = s01; s[2] = s02; s[3] = s03; s[4] = s10; s[5] = s11; s[6] = s12; s[7] = s13;
      s[8] = s20; s[9] = s21; s[10] = s22; s[11] = s23; s[12] = s30; s[13] = s31; s[14] = s32; s[15] = s33;
      for (let r = 0; r < rows; r++) finish(i + r, j, w, r * 4);
    }
  }
  return l;
}
/** Solves L Lᵀ x = b for one right-hand side. Both passes read L by rows: Lᵀ x = y finishes x_i,
 * then takes its share out of every earlier component (reading column i of L instead, one cache
 * miss per element, made a 6400-wide solve 2-4x slower: bench/linalg/closed-form.ts). */
export function choleskySolve(l: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const x = Float64Array.from({ length: n }, (_, i) => b[i]!);
  for (let i = 0; i < n; i++) {
    let s = x[i]!;
    const row = i * n;
    for (let k = 0; k < i; k++) s -= l[row + k]! * x[k]!;
    x[i] = s / l[row + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    const row = i * n;
    const xi = (x[i] = x[i]! / l[row + i]!);
    for (let k = 0; k < i; k++) x[k]! -= l[row + k]! * xi;
  }
  return x;
}

/**
 * Solves L Lᵀ X = B for m right-hand sides at once: `b` and the result are row-major [n, m] (row i
 * holds component i of every right-hand side). Every pass reads L by rows and updates whole rows of
 * X, so the n × n factor streams through the cache once per pass instead of once per right-hand side
 * (and by columns) as m calls of choleskySolve would.
 */
export function choleskySolveMany(l: Float64Array, n: number, b: Float64Array, m: number): Float64Array {
  const x = Float64Array.from(b);
  for (let i = 0; i < n; i++) {
    const xi = i * m;
    for (let k = 0; k < i; k++) {
      const lik = l[i * n + k]!;
      if (lik === 0) continue;
      const xk = k * m;
      for (let j = 0; j < m; j++) x[xi + j]! -= lik * x[xk + j]!;
    }
    const d = l[i * n + i]!;
    for (let j = 0; j < m; j++) x[xi + j]! /= d;
  }
  // Lᵀ X = Y: finish row i, then take its share (L[i, k] · x_i) out of every earlier row k
  for (let i = n - 1; i >= 0; i--) {
    const xi = i * m;
    const d = l[i * n + i]!;
    for (let j = 0; j < m; j++) x[xi + j]! /= d;
    for (let k = 0; k < i; k++) {
      const lik = l[i * n + k]!;
      if (lik === 0) continue;
      const xk = k * m;
      for (let j = 0; j < m; j++) x[xk + j]! -= lik * x[xi + j]!;
    }
  }
  return x;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}
