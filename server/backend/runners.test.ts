import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EditJobResult, JobInput } from '../../lib/api/jobs';
import { traceEventSchema, traceResultSchema } from '../../lib/tracing';
import { HubError, ModelHub, WORLD_MODEL_DIR, WORLD_MODEL_ID } from './hub';
import { RUNNERS, type RunnerContext } from './runners';

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
});
