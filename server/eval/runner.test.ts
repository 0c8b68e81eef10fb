import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ContextTemplates } from '../editing/context-templates';
import { SecondMoments } from '../editing/stats/second-moment';
import { linesSource } from '../editing/stats/texts';
import { CpuBackend, Engine } from '../engine';
import { loadLanguageModel } from '../models/load';
import { loadEvalCases } from './datasets';
import { hparamLayers } from '../editing/hparams';
import { evaluate, type EvalProgress } from './runner';

const ROOT = path.resolve(__dirname, '../..');

describe('hparamLayers', () => {
  it('reads `layer` or `layers`', () => {
    expect(hparamLayers({ layer: 3 })).toEqual([3]);
    expect(hparamLayers({ layers: [4, 5, 6] })).toEqual([4, 5, 6]);
    expect(hparamLayers({ lr: 1 })).toEqual([]);
  });
});

describe('evaluating ROME on the world model', () => {
  it('single, batch and sequential runs score 3 CounterFact edits and leave the weights as they were', async () => {
    const engine = new Engine(new CpuBackend());
    const lm = await loadLanguageModel(engine, path.join(ROOT, 'data/models/world-gpt2'));
    const stats = new SecondMoments(lm, 'world-gpt2', linesSource(path.join(ROOT, 'data/world/corpus.txt')), { maxTokens: 8000, maxLength: 128, batchSize: 64 });
    const ctx = { lm, stats, templates: new ContextTemplates(lm) };
    const { cases } = await loadEvalCases(path.join(ROOT, 'data/world/datasets/counterfact-test.json'));
    const three = cases.slice(0, 3);
    // The world model looks facts up at the prompt's last token (see rome.test.ts).
    const hp = { layer: 1, factToken: 'last', useContextTemplates: false };
    const weight = () => lm.network.params.get(lm.network.mlpOutWeight(1).name)!.valuesSync().slice();
    const before = weight();
    const events: EvalProgress['type'][] = [];

    const single = await evaluate(ctx, 'rome', hp, three, { mode: 'single', onProgress: (e) => events.push(e.type) });
    expect(single.averages.post.reliability).toBe(1);
    expect(single.averages.post.locality).toBeGreaterThanOrEqual(0.8);
    expect(single.averages.post.exactMatch.reliability).toBe(1);
    expect(single.averages.post.efficacy?.score).toBe(1);
    expect(single.averages.pre.efficacy?.score).toBe(0);
    expect(single.averages.pre.locality).toBeNull();
    expect(single.cases.map((c) => c.id)).toEqual(['case 0', 'case 1', 'case 2']);
    expect(single.setup.statsLayers).toEqual([1]);
    expect(single.secondsPerEdit).toBeGreaterThan(0);
    // the edit time split by ROME's stages: k*, v*, the rank-one update (and what comes before the first)
    expect(Object.keys(single.stageSeconds!).sort()).toEqual(['key', 'prepare', 'update', 'value']);
    const staged = Object.values(single.stageSeconds!).reduce((a, b) => a + b, 0);
    expect(staged).toBeGreaterThan(0.5 * single.editSeconds);
    expect(staged).toBeLessThanOrEqual(single.editSeconds + 1e-6);
    expect(single.peakBytes).toBeGreaterThan(0);
    expect(events).toEqual(expect.arrayContaining(['setup', 'pre', 'editor', 'edit']));
    expect(weight()).toEqual(before);

    const batch = await evaluate(ctx, 'rome', hp, three, { mode: 'batch', batchSize: 3 });
    expect(batch.batchSize).toBe(3);
    expect(batch.averages.post.reliability).toBeGreaterThanOrEqual(2 / 3);
    expect(weight()).toEqual(before);

    const sequential = await evaluate(ctx, 'rome', hp, three, { mode: 'sequential', checkpoints: [1] });
    expect(sequential.checkpoints?.map((c) => c.edits)).toEqual([1, 3]);
    expect(sequential.checkpoints?.[0]?.averages.cases).toBe(1);
    expect(sequential.averages.post.reliability).toBeGreaterThanOrEqual(2 / 3);
    expect(weight()).toEqual(before);
    lm.network.dispose();
  }, 90_000);
});

describe('evaluating the methods that add slots on the world model', () => {
  it.each(['tpatcher', 'calinet'] as const)('%s: single, batch and sequential runs edit 3 cases, compute no statistics, and leave no slot behind', async (method) => {
    const engine = new Engine(new CpuBackend());
    const lm = await loadLanguageModel(engine, path.join(ROOT, 'data/models/world-gpt2'));
    const stats = new SecondMoments(lm, 'world-gpt2', linesSource(path.join(ROOT, 'data/world/corpus.txt')), { maxTokens: 8000, maxLength: 128, batchSize: 64 });
    const ctx = { lm, stats, templates: new ContextTemplates(lm) };
    const { cases } = await loadEvalCases(path.join(ROOT, 'data/world/datasets/counterfact-test.json'));
    const three = cases.slice(0, 3);
    const probe = 'The birthplace of Gipinin Douvez is';
    const logits = () => engine.noGrad(() => engine.tidy(() => lm.forwardPadded([lm.encode(probe)], 'right').logits.valuesSync().slice()));
    const before = logits();

    const single = await evaluate(ctx, method, {}, three, { mode: 'single' });
    expect(single.setup.statsLayers).toEqual([]);
    expect(single.averages.post.reliability).toBe(1);
    expect(lm.network.slots.size).toBe(0);
    expect(logits()).toEqual(before);

    const batch = await evaluate(ctx, method, {}, three, { mode: 'batch', batchSize: 3 });
    expect(batch.averages.post.reliability).toBeGreaterThanOrEqual(2 / 3);
    expect(lm.network.slots.size).toBe(0);

    const sequential = await evaluate(ctx, method, {}, three, { mode: 'sequential', checkpoints: [1] });
    expect(sequential.checkpoints?.map((c) => c.edits)).toEqual([1, 3]);
    expect(sequential.averages.post.reliability).toBeGreaterThanOrEqual(2 / 3);
    expect(lm.network.slots.size).toBe(0);
    expect(logits()).toEqual(before);
    lm.network.dispose();
  }, 300_000);
});
