/**
 * The closed-form steps of ROME and MEMIT alone, on the host:
 * - MEMIT's adjusted keys (server/editing/memit/update.ts adjustedKeys) at key width F (default 1024,
 *   the world model's) for batches of 100, 300 and 1000 keys: random keys, a random positive-definite
 *   C (A Aᵀ / F + I) factored once outside the clock, as the statistics cache holds it;
 * - ROME's C⁻¹k (choleskySolve) at width 6400 (GPT-2 XL's), on a random lower-triangular factor.
 *   npx tsx bench/linalg/closed-form.ts [F] [n,n,...]
 */
import { performance } from 'node:perf_hooks';
import { cholesky, choleskySolve } from '../../server/editing/linalg';
import { adjustedKeys } from '../../server/editing/memit/update';

const f = Number(process.argv[2] ?? 1024);
const sizes = (process.argv[3] ?? '100,300,1000').split(',').map(Number);
let seed = 1;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
const a = Float64Array.from({ length: f * f }, rand);
const c = new Float64Array(f * f);
for (let i = 0; i < f; i++)
  for (let j = 0; j <= i; j++) {
    let s = 0;
    for (let t = 0; t < f; t++) s += a[i * f + t]! * a[j * f + t]!;
    c[i * f + j] = c[j * f + i] = s / f + (i === j ? 1 : 0);
  }
const factor = cholesky(c, f);
for (const n of sizes) {
  const keys = Array.from({ length: n }, () => Float64Array.from({ length: f }, rand));
  const started = performance.now();
  const adj = adjustedKeys(factor, f, keys, 1000);
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ f, n, seconds: Number(seconds.toFixed(2)), check: Number(adj[0]![0]!.toPrecision(6)) }));
}

{
  const w = 6400;
  const l = new Float64Array(w * w);
  for (let i = 0; i < w; i++) {
    for (let k = 0; k < i; k++) l[i * w + k] = rand() * 1e-3;
    l[i * w + i] = 2 + rand();
  }
  const b = Float64Array.from({ length: w }, rand);
  const times = [0, 1, 2].map(() => {
    const started = performance.now();
    choleskySolve(l, w, b);
    return (performance.now() - started) / 1000;
  });
  console.log(JSON.stringify({ rome: 'choleskySolve', n: w, seconds: Number(Math.min(...times).toFixed(3)) }));
}
