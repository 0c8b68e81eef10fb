import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CompareJobResult, StatisticsJobResult, type EditJobResult, type JobInput } from '../../lib/api/jobs';
import type { EvalReport } from '../../lib/eval';
import { traceEventSchema, traceResultSchema } from '../../lib/tracing';
import { EDIT_METHODS } from '../../components/studio/edit-form';
import { EDITORS } from '../editing';
import { HubError, ModelHub, WORLD_MODEL_DIR, WORLD_MODEL_ID } from './hub';
import { JobCancelled, RUNNERS, type RunnerContext } from './runners';

const hub = new ModelHub([{ id: WORLD_MODEL_ID, label: 'World', description: '', location: path.resolve(WORLD_MODEL_DIR) }]);

function context(): RunnerContext & { events: unknown[] } {
  const events: unknown[] = [];
  return { events, emit: (_type, data) => events.push(data), signal: new AbortController().signal, jobId: 'test' };
}

// A trained world fact (data/world/datasets/counterfact-test.json, case 0) and its CounterFact probes.
const edit = {
  kind: 'edit',
  model: WORLD_MODEL_ID,
  method: 'rome',
  request: { prompt: 'The birthplace of {} is', subject: 'Gipinin Douvez', targetNew: ' Demaiholm', targetTrue: ' Troubivik' },
  hparams: { useContextTemplates: false },
  probes: {
    paraphrases: ['Stadium Energy\'s CEO is Halis Timek. The place of birth of Gipinin Douvez is'],
    neighborhood: [{ prompt: 'Harotin Donell was born in', target: ' Troubivik' }],
    portability: [],
  },
} satisfies Extract<JobInput, { kind: 'edit' }>;

describe('job runners on the world model', () => {
  it('traces a fact, streaming one row per (kind, layer), and returns the trace', async () => {
    const input = {
      kind: 'trace',
      model: WORLD_MODEL_ID,
      request: { prompt: 'The birthplace of Gipinin Douvez is', subject: 'Gipinin Douvez', target: ' Troubivik', kinds: ['mlp'], samples: 2, window: 1, seed: 1, noiseMultiplier: 3, positions: 'all' },
    } satisfies Extract<JobInput, { kind: 'trace' }>;
    await RUNNERS.trace.check(input, hub);
    const ctx = context();
    const result = traceResultSchema.parse(await RUNNERS.trace.run(input, ctx, hub));
    const events = ctx.events.map((e) => traceEventSchema.parse(e));
    expect(events[0]!.type).toBe('clean');
    expect(events.filter((e) => e.type === 'row')).toHaveLength(6);
    expect(result.pClean).toBeGreaterThan(0.5);
    expect(result.traces[0]!.effects).toHaveLength(6);
  });

  it('edits with ROME: the new target wins on the prompt and the paraphrase; reverting restores the base exactly', async () => {
    await RUNNERS.edit.check(edit, hub);
    const ctx = context();
    const result = (await RUNNERS.edit.run(edit, ctx, hub)) as EditJobResult;
    expect(result.before.targetNew.p).toBeLessThan(0.01);
    expect(result.after.targetNew.p).toBeGreaterThan(0.5);
    expect(result.after.targetNew.argmaxMatches).toBe(true);
    expect(result.before.targetTrue!.p).toBeGreaterThan(0.5);
    expect(result.after.paraphrases[0]!.p).toBeGreaterThan(result.before.paraphrases[0]!.p);
    expect(result.hparams).toMatchObject({ layer: 1, factToken: 'last' }); // from data/models/world-gpt2/editing.json
    expect(result.deltas).toEqual([{ param: 'transformer.h.1.mlp.c_proj.weight', kind: 'lowRank', rank: 1 }]);
    expect(ctx.events.some((e) => (e as { type: string }).type === 'step')).toBe(true);
    expect(hub.versions(WORLD_MODEL_ID).edits.map((e) => e.id)).toEqual([result.editId]);

    hub.revert(WORLD_MODEL_ID, result.editId);
    expect(hub.versions(WORLD_MODEL_ID).edits).toEqual([]);
    const lm = await hub.load(WORLD_MODEL_ID);
    const p = Math.exp(lm.score([{ prompt: 'The birthplace of Gipinin Douvez is', target: ' Demaiholm' }])[0]!.logProb);
    expect(p).toBeCloseTo(result.before.targetNew.p, 6);
    expect(() => hub.revert(WORLD_MODEL_ID, result.editId)).toThrow(/has no edit/);
  }, 120_000);

  it('runs T-Patcher and CaliNET as edit and compare jobs: added slots are the delta, reverted and undone exactly', async () => {
    const input = { ...edit, method: 'tpatcher', hparams: {} } satisfies Extract<JobInput, { kind: 'edit' }>;
    await RUNNERS.edit.check(input, hub);
    const result = (await RUNNERS.edit.run(input, context(), hub)) as EditJobResult;
    expect(result.after.targetNew.p).toBeGreaterThan(0.5);
    expect(result.deltas).toEqual([{ param: 'ffn_slots.5', kind: 'ffnSlots', rank: null, slots: expect.any(Number) }]);
    const lm = await hub.load(WORLD_MODEL_ID);
    const probe = [{ prompt: 'The birthplace of Gipinin Douvez is', target: ' Demaiholm' }];
    expect(lm.network.slots.size).toBe(result.deltas[0]!.slots);
    hub.revert(WORLD_MODEL_ID, result.editId);
    expect(lm.network.slots.size).toBe(0);
    const pBase = Math.exp(lm.score(probe)[0]!.logProb);
    expect(pBase).toBeCloseTo(result.before.targetNew.p, 6);

    const compare = { kind: 'compare', model: WORLD_MODEL_ID, methods: ['tpatcher', 'calinet'], request: edit.request, hparams: {}, probes: edit.probes } satisfies Extract<JobInput, { kind: 'compare' }>;
    await RUNNERS.compare.check(compare, hub);
    const compared = CompareJobResult.parse(await RUNNERS.compare.run(compare, context(), hub));
    expect(compared.runs.map((r) => r.name)).toEqual(['T-Patcher', 'CaliNET']);
    for (const run of compared.runs) {
      expect(run.error).toBeNull();
      expect(run.after!.targetNew.p).toBeGreaterThan(0.5);
    }
    expect(lm.network.slots.size).toBe(0);
    expect(Math.exp(lm.score(probe)[0]!.logProb)).toBe(pBase);
  }, 300_000);

  it('refuses bad edits before they run, with a 400 and a sentence', async () => {
    const bad = async (change: object) => {
      const error = await RUNNERS.edit.check({ ...edit, ...change } as never, hub).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HubError);
      expect((error as HubError).status).toBe(400);
      return (error as Error).message;
    };
    expect(await bad({ method: 'nope' })).toMatch(/unknown method "nope"/);
    expect(await bad({ hparams: { layer: 9 } })).toMatch(/layer 9 is out of range: the model has 6 layers/);
    expect(await bad({ hparams: { layr: 1 } })).toMatch(/has no "layr"/);
    const trace = { kind: 'trace', model: WORLD_MODEL_ID, request: { prompt: 'The birthplace of Gipinin Douvez is', subject: 'Nobody Here', target: ' Troubivik', kinds: ['mlp'], samples: 2, window: 1, seed: 1, noiseMultiplier: 3, positions: 'all' } } as const;
    await expect(RUNNERS.trace.check({ ...trace, request: { ...trace.request, kinds: ['mlp'] } }, hub)).rejects.toThrow(/"Nobody Here" is not in the prompt/);
  });

  it('compares methods on one fact, each from the same weights, and leaves the model as it was', async () => {
    const input = {
      kind: 'compare',
      model: WORLD_MODEL_ID,
      methods: ['rome', 'memit', 'ft-m'],
      request: edit.request,
      hparams: { rome: { useContextTemplates: false }, memit: { useContextTemplates: false } },
      probes: edit.probes,
    } satisfies Extract<JobInput, { kind: 'compare' }>;
    await RUNNERS.compare.check(input, hub);
    const lm = await hub.load(WORLD_MODEL_ID);
    const probe = [{ prompt: 'The birthplace of Gipinin Douvez is', target: ' Demaiholm' }];
    const pBase = Math.exp(lm.score(probe)[0]!.logProb);
    const ctx = context();
    const result = CompareJobResult.parse(await RUNNERS.compare.run(input, ctx, hub));
    expect(result.runs.map((r) => r.name)).toEqual(['ROME', 'MEMIT', 'FT-M']);
    for (const run of result.runs) {
      expect(run.error).toBeNull();
      expect(run.editSeconds).toBeGreaterThan(0);
      expect(run.peakBytes).toBeGreaterThan(0);
    }
    // ROME and MEMIT make the new target win from the same starting point
    expect(result.runs[0]!.after!.targetNew.p).toBeGreaterThan(0.5);
    expect(result.runs[1]!.after!.targetNew.p).toBeGreaterThan(0.5);
    expect(result.before.targetNew.p).toBeCloseTo(pBase, 6);
    expect(Math.exp(lm.score(probe)[0]!.logProb)).toBeCloseTo(pBase, 6);
    expect(hub.versions(WORLD_MODEL_ID).edits).toEqual([]);
    expect(ctx.events.filter((e) => (e as { type: string }).type === 'method')).toHaveLength(3);
  }, 300_000);

  it('evaluates a method on a catalog dataset and restores the weights; bad datasets are 4xx', async () => {
    const input = {
      kind: 'eval',
      model: WORLD_MODEL_ID,
      method: 'rome',
      dataset: 'world:counterfact-test',
      n: 3,
      offset: 0,
      mode: 'sequential',
      checkpoints: [1, 2],
      hparams: { useContextTemplates: false },
    } satisfies Extract<JobInput, { kind: 'eval' }>;
    await RUNNERS.eval.check(input, hub);
    const lm = await hub.load(WORLD_MODEL_ID);
    const probe = [{ prompt: 'The birthplace of Gipinin Douvez is', target: ' Demaiholm' }];
    const pBase = Math.exp(lm.score(probe)[0]!.logProb);
    const ctx = context();
    const report = (await RUNNERS.eval.run(input, ctx, hub)) as EvalReport & { model: string; dataset: string };
    expect(report).toMatchObject({ model: WORLD_MODEL_ID, dataset: 'world:counterfact-test', method: 'ROME', mode: 'sequential' });
    expect(report.averages.post.cases).toBe(3);
    expect(report.averages.post.reliability).toBeGreaterThan(report.averages.pre.reliability!);
    expect(report.checkpoints!.map((c) => c.edits)).toEqual([1, 2, 3]);
    expect(ctx.events.filter((e) => (e as { type: string }).type === 'edit')).toHaveLength(3);
    expect(Math.exp(lm.score(probe)[0]!.logProb)).toBeCloseTo(pBase, 6);

    const status = async (change: object) => ((await RUNNERS.eval.check({ ...input, ...change }, hub).catch((e: unknown) => e)) as HubError).status;
    expect(await status({ dataset: 'world:nope' })).toBe(404);
    expect(await status({ dataset: '../../etc/passwd' })).toBe(404);
    expect(await status({ offset: 100_000 })).toBe(400);
    expect(await status({ method: 'nope' })).toBe(400);
    expect(await status({ mode: 'batch', batchSize: 2 })).toBe(400); // ROME does not batch
  }, 120_000);

  it('computes statistics ahead of an edit: cached after the first job, out-of-range layers refused, cancel honoured', async () => {
    const input = { kind: 'statistics', model: WORLD_MODEL_ID, layers: [1] } satisfies Extract<JobInput, { kind: 'statistics' }>;
    await expect(RUNNERS.statistics.check({ ...input, layers: [1, 6, 9] }, hub)).rejects.toMatchObject({ status: 400, message: 'Layer 6, 9 is not in the model: its layers are 0-5' });
    await RUNNERS.statistics.check(input, hub);
    const first = StatisticsJobResult.parse(await RUNNERS.statistics.run(input, context(), hub));
    expect(first.layers).toHaveLength(1);
    expect(first.text).toMatch(/tokens$/);
    const again = StatisticsJobResult.parse(await RUNNERS.statistics.run(input, context(), hub));
    expect(again.layers[0]).toMatchObject({ layer: 1, source: 'memory' });
    const workspace = await hub.workspace(WORLD_MODEL_ID);
    expect(workspace.editing).toBe(false);
    const aborted = new AbortController();
    aborted.abort();
    await expect(RUNNERS.statistics.run(input, { ...context(), signal: aborted.signal }, hub)).rejects.toBeInstanceOf(JobCancelled);
    expect(workspace.editing).toBe(false);
  });

  it('offers in the studio exactly the editors the server has, with their names and whether they batch', () => {
    const byId = (a: unknown[], b: unknown[]) => String(a[0]).localeCompare(String(b[0]));
    expect(EDIT_METHODS.map((m) => [m.id, m.name, m.batchable]).sort(byId)).toEqual(Object.entries(EDITORS).map(([id, e]) => [id, e.name, e.batchable]).sort(byId));
  });
});
