/**
 * Forward throughput on the CPU backend: prefill tokens/s (one pass over B x T tokens) and decode
 * tokens/s (greedy steps with the KV cache), for each model given by location (a .gguf file or a
 * checkpoint folder), default the registered SmolLM2 and the world model when present.
 *   npx tsx bench/forward-cpu.ts [model ...]
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import { CpuBackend, Engine } from '../server/engine';
import { loadLanguageModel } from '../server/models/load';
import { smollm2Path } from '../server/models/registry';
import { KVCache } from '../server/models/network';

const WORLD = 'data/models/world-gpt2';

async function main() {
  const models = process.argv.slice(2);
  if (!models.length) {
    const smol = smollm2Path();
    if (smol) models.push(smol);
    if (existsSync(WORLD)) models.push(WORLD);
  }
  const engine = new Engine(new CpuBackend());
  console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} x${os.availableParallelism()}`);
  console.log('| model | params | prefill 1x64 tok/s | prefill 8x64 tok/s | decode tok/s (batch 1, 32 steps) | load s |');
  console.log('|---|---|---|---|---|---|');
  for (const location of models) {
    const t0 = performance.now();
    const lm = await loadLanguageModel(engine, location);
    const loadS = (performance.now() - t0) / 1000;
    const params = [...lm.network.params.values()].reduce((s, t) => s + t.size, 0);
    const prefill = (batch: number, tokens: number) => {
      const ids = engine.tensor(Int32Array.from({ length: batch * tokens }, (_, i) => (i * 7919) % 1000 + 10), [batch, tokens], 'i32');
      const run = () => engine.noGrad(() => engine.tidy(() => lm.network.forward({ ids }).logits.valuesSync()));
      run();
      const reps = 3;
      const start = performance.now();
      for (let i = 0; i < reps; i++) run();
      ids.dispose();
      return (batch * tokens * reps) / ((performance.now() - start) / 1000);
    };
    const decode = (steps: number) => {
      const cache = new KVCache(lm.network.spec.layers);
      const step = (id: number) => engine.noGrad(() => engine.tidy(() => lm.network.forward({ ids: engine.tensor(Int32Array.from([id]), [1, 1], 'i32'), cache }).logits.valuesSync()));
      for (let i = 0; i < 8; i++) step(10 + i); // a short prompt in the cache
      const start = performance.now();
      for (let i = 0; i < steps; i++) step(100 + i);
      cache.dispose();
      return steps / ((performance.now() - start) / 1000);
    };
    const row = [location.split('/').pop(), `${(params / 1e6).toFixed(1)}M`, prefill(1, 64).toFixed(0), prefill(8, 64).toFixed(0), decode(32).toFixed(1), loadS.toFixed(1)];
    console.log(`| ${row.join(' | ')} |`);
    console.error(`ppl check: ${lm.perplexity('The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France.').toFixed(2)}`);
    lm.network.dispose();
  }
}

void main();
