import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CpuBackend, Engine } from '../engine';
import { loadLanguageModel } from '../models/load';
import type { WeightDelta } from './editor';
import { ModelVersions } from './versions';

const WORLD = path.resolve(__dirname, '../../data/models/world-gpt2');

/** A rank-one delta on layer 1's MLP output projection that makes "x" map strongly to one token. */
function delta(lm: Awaited<ReturnType<typeof loadLanguageModel>>, seed: number): WeightDelta {
  const { name } = lm.network.mlpOutWeight(1);
  const [rows, cols] = lm.network.params.get(name)!.shape as [number, number];
  const left = Float32Array.from({ length: rows }, (_, i) => Math.sin(i * 0.37 + seed) * 0.5);
  const right = Float32Array.from({ length: cols }, (_, i) => Math.cos(i * 0.11 + seed) * 0.5);
  return { param: name, kind: 'lowRank', rows, cols, rank: 1, left, right };
}

describe('model versions', () => {
  it('apply, revert one of two edits exactly, reset, and export a loadable checkpoint', async () => {
    const engine = new Engine(new CpuBackend());
    const lm = await loadLanguageModel(engine, WORLD);
    const versions = new ModelVersions(lm);
    const { name } = lm.network.mlpOutWeight(1);
    const weight = () => lm.network.params.get(name)!.valuesSync().slice();
    const base = weight();
    const a = versions.apply('test', [], [delta(lm, 1)]);
    const afterA = weight();
    versions.apply('test', [], [delta(lm, 2)]);
    expect(weight()).not.toEqual(afterA);
    versions.revert(a.id);
    expect(versions.history().map((e) => e.id)).toEqual([2]);
    // base + delta 2 alone, computed fresh, equals what the revert left
    const onlyB = new ModelVersions(lm);
    const reverted = weight();
    versions.reset();
    expect(weight()).toEqual(base);
    onlyB.apply('test', [], [delta(lm, 2)]);
    expect(weight()).toEqual(reverted);
    // export the edited version and load it back
    const out = await mkdtemp(path.join(tmpdir(), 'locus-export-'));
    await onlyB.export(out, WORLD);
    const reloaded = await loadLanguageModel(engine, out);
    expect(reloaded.network.params.get(name)!.valuesSync()).toEqual(weight());
    const prompt = 'The birthplace of Gipinin Douvez is';
    expect(reloaded.topK([prompt], 3).map((r) => r.map((t) => t.id))).toEqual(lm.topK([prompt], 3).map((r) => r.map((t) => t.id)));
    onlyB.reset();
    expect(weight()).toEqual(base);
    for (const v of [versions, onlyB]) v.dispose();
    reloaded.network.dispose();
    lm.network.dispose();
  });
});
