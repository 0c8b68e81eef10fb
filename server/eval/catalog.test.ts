import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DatasetCatalog, DatasetError, datasetIdOf, editingDataDir } from './catalog';
import { committedResults, committedTraining, jobResults, jobTraining, modelIdOf, parseTrainLog } from './results';

describe('the dataset catalog', () => {
  const catalog = new DatasetCatalog();

  it('lists the world sets and the shared samples by id, with their case counts', async () => {
    const list = await catalog.list();
    const world = list.find((d) => d.id === 'world:counterfact-test');
    expect(world).toMatchObject({ format: 'counterfact', error: null });
    expect(world!.cases).toBeGreaterThanOrEqual(200);
    if (existsSync(editingDataDir())) {
      expect(list.find((d) => d.id === 'shared:counterfact-portability.sample')).toMatchObject({ format: 'counterfact', error: null });
    }
  });

  it('loads cases by id only: a path or an unknown id is a 404', async () => {
    expect((await catalog.cases('world:zsre-test')).format).toBe('zsre');
    for (const id of ['../../etc/passwd', 'world:../graph', 'data/world/datasets/zsre-test.json']) {
      const error = await catalog.cases(id).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DatasetError);
      expect((error as DatasetError).status).toBe(404);
    }
  });

  it('searches a dataset by words of its prompts and targets, as facts with their probes', async () => {
    const all = await catalog.search('world:counterfact-test', '', 5);
    expect(all.cases).toHaveLength(5);
    expect(all.matches).toBe(all.total);
    const first = all.cases[0]!;
    expect(first.prompt).toContain(first.subject);
    expect(first.targetNew).not.toMatch(/^ /);
    expect(first.paraphrases.length).toBeGreaterThan(0);
    expect(first.neighbours.length).toBeGreaterThan(0);
    const words = `${first.subject.toUpperCase()} ${first.targetNew}`;
    const found = await catalog.search('world:counterfact-test', words, 50);
    expect(found.cases.map((c) => c.index)).toContain(0);
    expect(found.cases.every((c) => `${c.prompt} ${c.targetNew}`.includes(first.targetNew))).toBe(true);
    expect((await catalog.search('world:counterfact-test', 'no such words anywhere', 5)).matches).toBe(0);
  });

  it('names committed reports by the catalog id of the file they ran on', () => {
    expect(datasetIdOf('data/world/datasets/counterfact-test.json')).toBe('world:counterfact-test');
    expect(datasetIdOf('../shared/data/editing/counterfact-portability.sample.json')).toBe('shared:counterfact-portability.sample');
    expect(modelIdOf('data/models/world-gpt2')).toBe('world-gpt2');
    expect(modelIdOf('data/models/world-t5')).toBe('world-t5');
    expect(modelIdOf('/root/.cache/locus/smollm2/x/SmolLM2-135M-Instruct.Q4_1.gguf')).toBe('smollm2-135m-instruct');
  });
});

describe('benchmark results', () => {
  it('summarises the committed reports under bench/results, sequential curves included', () => {
    const rows = committedResults(path.resolve('.'));
    const seq = rows.find((r) => r.id === 'file:world/rome-sequential-100-bare.json');
    expect(seq).toMatchObject({ source: 'committed', model: 'world-gpt2', dataset: 'world:counterfact-test', method: 'ROME', mode: 'sequential', cases: 100 });
    expect(seq!.checkpoints.map((c) => c.edits)).toEqual([1, 10, 25, 50, 100]);
    expect(seq!.checkpoints.at(-1)!.reliability).toBeCloseTo(seq!.post.reliability!, 9);
    const batch = rows.find((r) => r.id === 'file:world/memit-batch-100-bare.json');
    expect(batch).toMatchObject({ mode: 'batch', batchSize: 100 });
    expect(batch!.post.reliability).toBeGreaterThan(0.9);
    // the T5 world model's rows (bench/world-t5-eval.sh), under the hub's id for that model
    const t5 = rows.filter((r) => r.id.startsWith('file:world-t5/'));
    expect(new Set(t5.map((r) => r.model))).toEqual(new Set(['world-t5']));
    expect(t5.map((r) => r.method)).toEqual(expect.arrayContaining(['FT-L', 'FT-M', 'KN', 'CaliNET', 'T-Patcher', 'MEND', 'KE', 'SERAC']));
    expect(t5.find((r) => r.method === 'CaliNET')).toMatchObject({ mode: 'single', cases: 200, dataset: 'world:counterfact-test' });
  });

  it('reads the training of MEND, KE and SERAC from the committed `locus train` logs', () => {
    expect(parseTrainLog('hparams {}\ntrained ke for data/models/world-gpt2 in 748.1 s (200 steps, resumed at 28)\nmean over the last 50 steps: loss 1\npeak engine memory 125.0 MiB, peak RSS 421 MiB\n')).toEqual({
      method: 'ke',
      model: 'world-gpt2',
      seconds: 748.1,
      steps: 200,
      resumedFrom: 28,
      peakBytes: 125 * 2 ** 20,
      peakRssBytes: 421 * 2 ** 20,
    });
    expect(parseTrainLog('training mend [#####---] 5/10')).toBeNull();
    const runs = committedTraining(path.resolve('.'));
    for (const [model, method] of [['world-gpt2', 'mend'], ['world-gpt2', 'ke'], ['world-gpt2', 'serac'], ['world-t5', 'mend'], ['world-t5', 'ke'], ['world-t5', 'serac']]) {
      expect(runs.find((r) => r.model === model && r.method === method), `${method} on ${model}`).toMatchObject({ source: 'committed' });
    }
    expect(runs.every((r) => r.seconds > 0 && r.steps > 0 && r.peakBytes! > 0)).toBe(true);
  });

  it('takes finished train jobs with their results', () => {
    const result = { method: 'serac', file: 'x.safetensors', steps: 10, resumedFrom: 0, seconds: 4.5, final: { loss: 1 }, peakBytes: 8, peakRssBytes: 9 };
    const job = { id: 't', kind: 'train', model: 'world-gpt2', state: 'done', input: {}, createdAt: 't0', startedAt: 't1', finishedAt: 't2', error: null, result, events: 3 } as const;
    const runs = jobTraining([job, { ...job, id: 'u', state: 'cancelled', result: null }, { ...job, id: 'v', kind: 'eval' }]);
    expect(runs).toEqual([{ id: 'job:t', source: 'job', model: 'world-gpt2', method: 'serac', steps: 10, resumedFrom: 0, seconds: 4.5, peakBytes: 8, peakRssBytes: 9, at: 't2' }]);
  });

  it('takes finished evaluation jobs only', () => {
    const report = { method: 'ROME', mode: 'single', batchSize: 1, model: 'world-gpt2', dataset: 'world:x', secondsPerEdit: 1, peakBytes: 1, peakRssBytes: 1, averages: { pre: { cases: 1 }, post: { cases: 1, reliability: 1 } } };
    const job = { id: 'a', kind: 'eval', model: 'world-gpt2', state: 'done', input: {}, createdAt: 't0', startedAt: 't1', finishedAt: 't2', error: null, result: report, events: 3 } as const;
    const rows = jobResults([job, { ...job, id: 'b', state: 'failed', result: null }, { ...job, id: 'c', kind: 'edit' }]);
    expect(rows.map((r) => r.id)).toEqual(['job:a']);
    expect(rows[0]).toMatchObject({ source: 'job', at: 't2', post: { reliability: 1 } });
  });
});
