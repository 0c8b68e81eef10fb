import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EditJobResult, JobInput } from '../../lib/api/jobs';
import type { WeightDelta } from '../editing/editor';
import { rmSync } from 'node:fs';
import { loadEvalCases } from '../eval/datasets';
import { SeracHparams } from '../editing/serac/hparams';
import { trainSerac } from '../editing/serac/train';
import { trainRecords } from '../editing/trained';
import { TrainedEditorStore } from '../editing/trained/store';
import { VersionStore } from '../editing/version-store';
import { tempDir } from '../jobs/testing';
import { ModelHub, WORLD_MODEL_DIR, WORLD_MODEL_ID } from './hub';
import { RUNNERS, type RunnerContext } from './runners';

const ctx = (): RunnerContext => ({ emit: () => {}, signal: new AbortController().signal, jobId: 't' });

describe('saved edits', () => {
  it('stores deltas exactly (low-rank and dense) and forgets removed ones', () => {
    const tmp = tempDir();
    try {
      const store = new VersionStore(path.join(tmp.dir, 'v.sqlite'));
      const lowRank: WeightDelta = { param: 'a', kind: 'lowRank', rows: 3, cols: 2, rank: 1, left: new Float32Array([1, -2, 3.5]), right: new Float32Array([1e-7, 4]) };
      const dense: WeightDelta = { param: 'b', kind: 'dense', rows: 2, cols: 2, values: new Float32Array([0.1, 0.2, 0.3, Math.PI]) };
      const request = { prompt: '{} is', subject: 'x', targetNew: ' y' };
      store.add('m', { id: 1, method: 'ROME', requests: [request], deltas: [lowRank, dense], at: 't1' });
      store.add('m', { id: 2, method: 'KN', requests: [request], deltas: [dense], at: 't2' });
      store.add('other', { id: 1, method: 'KN', requests: [request], deltas: [dense], at: 't3' });
      store.remove('m', 2);
      const [edit, ...rest] = store.load('m');
      expect(rest).toEqual([]);
      expect(edit).toEqual({ id: 1, method: 'ROME', requests: [request], deltas: [lowRank, dense], at: 't1' });
      store.close();
    } finally {
      tmp.remove();
    }
  });

  it('a new hub on the same store applies the saved edits again: a restart keeps them, a revert forgets them', async () => {
    const tmp = tempDir();
    const file = path.join(tmp.dir, 'versions.sqlite');
    const entry = { id: WORLD_MODEL_ID, label: 'World', description: '', location: path.resolve(WORLD_MODEL_DIR) };
    const probe = [{ prompt: 'The birthplace of Gipinin Douvez is', target: ' Demaiholm' }];
    const input = {
      kind: 'edit',
      model: WORLD_MODEL_ID,
      method: 'rome',
      request: { prompt: 'The birthplace of {} is', subject: 'Gipinin Douvez', targetNew: ' Demaiholm', targetTrue: ' Troubivik' },
      hparams: { useContextTemplates: false },
      probes: { paraphrases: [], neighborhood: [], portability: [] },
    } satisfies Extract<JobInput, { kind: 'edit' }>;
    try {
      const first = new ModelHub([entry], { versionStore: new VersionStore(file) });
      const result = (await RUNNERS.edit.run(input, ctx(), first)) as EditJobResult;
      const pEdited = Math.exp((await first.load(WORLD_MODEL_ID)).score(probe)[0]!.logProb);
      expect(pEdited).toBeGreaterThan(0.5);

      const second = new ModelHub([entry], { versionStore: new VersionStore(file) });
      await second.workspace(WORLD_MODEL_ID);
      expect(second.versions(WORLD_MODEL_ID).edits.map((e) => [e.id, e.method])).toEqual([[result.editId, 'ROME']]);
      const lm = await second.load(WORLD_MODEL_ID);
      expect(Math.exp(lm.score(probe)[0]!.logProb)).toBeCloseTo(pEdited, 5);
      second.revert(WORLD_MODEL_ID, result.editId);

      const third = new ModelHub([entry], { versionStore: new VersionStore(file) });
      await third.workspace(WORLD_MODEL_ID);
      expect(third.versions(WORLD_MODEL_ID).edits).toEqual([]);
      expect(Math.exp((await third.load(WORLD_MODEL_ID)).score(probe)[0]!.logProb)).toBeCloseTo(result.before.targetNew.p, 6);
    } finally {
      tmp.remove();
    }
  }, 60_000);

  it('a SERAC edit (a memory beside the weights) comes back with its trained networks after a restart, and is dropped without them', async () => {
    const tmp = tempDir();
    const file = path.join(tmp.dir, 'versions.sqlite');
    const location = path.resolve(WORLD_MODEL_DIR);
    const entry = { id: WORLD_MODEL_ID, label: 'World', description: '', location };
    const prompt = 'The birthplace of Gipinin Douvez is';
    const input = {
      kind: 'edit',
      model: WORLD_MODEL_ID,
      method: 'serac',
      request: { prompt: 'The birthplace of {} is', subject: 'Gipinin Douvez', targetNew: ' Demaiholm', targetTrue: ' Troubivik' },
      hparams: { layers: [1] },
      probes: { paraphrases: [], neighborhood: [], portability: [] },
    } satisfies Extract<JobInput, { kind: 'edit' }>;
    try {
      const first = new ModelHub([entry], { versionStore: new VersionStore(file), trainedRoot: tmp.dir });
      const lm = await first.load(WORLD_MODEL_ID);
      // a few steps: the plumbing, not the quality (server/editing/serac/serac.test.ts, bench/BENCHMARKS.md)
      const records = trainRecords((await loadEvalCases(path.resolve('data/world/datasets/knowedit-train.json'))).cases.slice(0, 16)).records;
      await trainSerac(lm, TrainedEditorStore.forModel(location, tmp.dir), records, SeracHparams.parse({ layers: [1], steps: 2 }));
      const result = (await RUNNERS.edit.run(input, ctx(), first)) as EditJobResult;
      expect(result.deltas).toEqual([{ param: 'edit_memory', kind: 'memory', rank: null, entries: 1 }]);
      const routes = lm.network.memory.route([prompt]);
      const edited = lm.score([{ prompt, target: ' Demaiholm' }])[0]!.logProb;

      const second = new ModelHub([entry], { versionStore: new VersionStore(file), trainedRoot: tmp.dir });
      const again = await second.load(WORLD_MODEL_ID);
      expect(second.versions(WORLD_MODEL_ID).edits.map((e) => [e.id, e.method])).toEqual([[result.editId, 'SERAC']]);
      expect(again.network.memory.all()[0]!.entries).toEqual([{ prompt, target: ' Demaiholm', subject: 'Gipinin Douvez' }]);
      expect(again.network.memory.route([prompt])[0]?.probability).toBeCloseTo(routes[0]?.probability ?? NaN, 5);
      expect(again.score([{ prompt, target: ' Demaiholm' }])[0]!.logProb).toBeCloseTo(edited, 5);

      // the trained networks gone: the saved edit cannot be answered, so it is dropped (saying why, on stderr)
      rmSync(path.join(tmp.dir, 'editors'), { recursive: true });
      const third = new ModelHub([entry], { versionStore: new VersionStore(file), trainedRoot: tmp.dir });
      const bare = await third.load(WORLD_MODEL_ID);
      expect(third.versions(WORLD_MODEL_ID).edits).toEqual([]);
      expect(bare.network.memory.size).toBe(0);
    } finally {
      tmp.remove();
    }
  }, 120_000);
});
