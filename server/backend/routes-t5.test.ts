/**
 * The T5 world model in the studio (issue 12): listed, predicted and scored through the routes,
 * traced as a job with both heatmaps, edited by the methods that edit T5, and refused by ROME and
 * MEMIT with their reason. On data/models/world-t5 (4 + 4 layers, d 192; it knows its facts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelsResponse, PredictResponse, ScoreResponse } from '../../lib/api';
import { ApiError } from '../../lib/api/errors';
import type { EditJobResult, JobInput } from '../../lib/api/jobs';
import { traceEventSchema, traceResultSchema } from '../../lib/tracing';
import { EDIT_METHODS } from '../../components/studio/edit-form';
import { GET as listModels } from '../../app/api/models/route';
import { POST as predict } from '../../app/api/predict/route';
import { POST as score } from '../../app/api/score/route';
import { ModelHub, WORLD_T5_MODEL_DIR, WORLD_T5_MODEL_ID } from './hub';
import { RUNNERS, type RunnerContext } from './runners';

// The routes use the server's hub (ModelHub.withDefaults, made on the first request): its saved edits go to a scratch data directory.
const dataDir = mkdtempSync(path.join(tmpdir(), 'locus-t5-routes-'));
process.env.LOCUS_DATA_DIR = dataDir;
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));


const post = (url: string, body: unknown) => new Request(`http://localhost${url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

// A trained world fact: data/world/datasets/counterfact-test.json, case 0.
const fact = { prompt: 'The birthplace of Gipinin Douvez is', subject: 'Gipinin Douvez', answer: ' Troubivik' };

describe('the T5 world model through the routes', () => {
  it('is listed with its architecture before it loads, predicts its answer as the first decoder token, and scores targets teacher-forced', async () => {
    const listed = ModelsResponse.parse(await (await listModels()).json());
    const t5 = listed.models.find((m) => m.id === WORLD_T5_MODEL_ID);
    expect(t5).toMatchObject({ family: 't5', architecture: 'encoder-decoder', encoderLayers: 4, layers: 4, hidden: 192 });
    expect(listed.models.find((m) => m.id === 'world-gpt2')).toMatchObject({ architecture: 'decoder-only', encoderLayers: null });

    const res = await predict(post('/api/predict', { model: WORLD_T5_MODEL_ID, prompt: fact.prompt, k: 3 }));
    expect(res.status).toBe(200);
    const predicted = PredictResponse.parse(await res.json());
    expect(predicted.tokens[0]!.token).toBe(fact.answer);
    expect(predicted.tokens[0]!.prob).toBeGreaterThan(0.9);
    // the encoder reads the prompt and T5's </s>
    expect(predicted.promptTokens.at(-1)).toBe('</s>');

    const scored = ScoreResponse.parse(await (await score(post('/api/score', { model: WORLD_T5_MODEL_ID, prompt: fact.prompt, targets: [fact.answer, ' Demaiholm'] }))).json());
    const [answer, other] = scored.targets;
    expect(answer!.tokens[0]!.isArgmax).toBe(true);
    expect(answer!.prob).toBeCloseTo(predicted.tokens[0]!.prob, 5);
    expect(other!.prob).toBeLessThan(0.01);

    const loaded = ModelsResponse.parse(await (await listModels()).json()).models.find((m) => m.id === WORLD_T5_MODEL_ID)!;
    expect(loaded).toMatchObject({ status: 'loaded', architecture: 'encoder-decoder', encoderLayers: 4, layers: 4 });
    expect(loaded.params).toBeGreaterThan(4_000_000);
  });

  it('answers 400 with the reason for a prompt past what the encoder reads, never a stack', async () => {
    const res = await predict(post('/api/predict', { model: WORLD_T5_MODEL_ID, prompt: 'a '.repeat(900), k: 1 }));
    expect(res.status).toBe(400);
    const { error } = ApiError.parse(await res.json());
    expect(error).toMatch(/^The prompt is \d+ tokens long; world-t5 reads at most 512$/);
  });
});

const hub = new ModelHub([{ id: WORLD_T5_MODEL_ID, label: 'World (T5)', description: '', location: path.resolve(WORLD_T5_MODEL_DIR) }], { trainedRoot: dataDir });

function context(): RunnerContext & { events: unknown[] } {
  const events: unknown[] = [];
  return { events, emit: (_type, data) => events.push(data), signal: new AbortController().signal, jobId: 'test' };
}

const request = { prompt: 'The birthplace of {} is', subject: fact.subject, targetNew: ' Demaiholm', targetTrue: fact.answer };

describe('jobs on the T5 world model', () => {
  it('traces a fact as a job: encoder rows then decoder rows stream in, and the result holds both heatmaps', async () => {
    const input = {
      kind: 'trace',
      model: WORLD_T5_MODEL_ID,
      request: { prompt: fact.prompt, subject: fact.subject, target: fact.answer, kinds: ['hidden', 'mlp', 'attn'], samples: 2, window: 1, seed: 1, noiseMultiplier: 3, positions: 'all' },
    } satisfies Extract<JobInput, { kind: 'trace' }>;
    await RUNNERS.trace.check(input, hub);
    const ctx = context();
    const result = traceResultSchema.parse(await RUNNERS.trace.run(input, ctx, hub));
    const events = ctx.events.map((e) => traceEventSchema.parse(e));
    const clean = events[0]!;
    if (clean.type !== 'clean') throw new Error(`first event ${clean.type}`);
    expect(clean.setup.decoder).toEqual({ layers: 4, tokens: ['<pad>'] });
    const rows = events.filter((e) => e.type === 'row');
    // 3 kinds x 4 encoder layers, then 3 kinds x 4 decoder layers, counted as one run
    expect(rows.map((r) => r.stack ?? 'encoder')).toEqual([...Array<string>(12).fill('encoder'), ...Array<string>(12).fill('decoder')]);
    expect(rows.map((r) => r.done)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    expect(new Set(rows.map((r) => r.total))).toEqual(new Set([24]));
    expect(clean.rows).toBe(24);

    expect(result.pClean).toBeGreaterThan(0.9);
    expect(result.traces.map((t) => [t.kind, t.effects.length, t.effects[0]!.length])).toEqual(['hidden', 'mlp', 'attn'].map((k) => [k, 4, result.tokens.length]));
    expect(result.decoderTraces!.map((t) => [t.kind, t.effects.length, t.effects[0]!.length])).toEqual(['hidden', 'mlp', 'attn'].map((k) => [k, 4, 1]));
    // the head reads the last decoder layer's output only: restoring it there brings p_clean back
    expect(result.decoderTraces!.find((t) => t.kind === 'hidden')!.effects[3]![0]).toBeCloseTo(result.totalEffect, 6);
    expect(result.totalEffect).toBeGreaterThan(0.1);
  });

  it('refuses a window deeper than the model with a 400', async () => {
    const input = {
      kind: 'trace',
      model: WORLD_T5_MODEL_ID,
      request: { prompt: fact.prompt, subject: fact.subject, target: fact.answer, kinds: ['mlp'], samples: 2, window: 5, seed: 1, noiseMultiplier: 3, positions: 'all' },
    } satisfies Extract<JobInput, { kind: 'trace' }>;
    await expect(RUNNERS.trace.check(input, hub)).rejects.toMatchObject({ status: 400, message: "window 5 is larger than the model's 4 layers" });
  });

  it('edits with CaliNET in the decoder: the new target wins, and the edit is a version', async () => {
    const input = { kind: 'edit', model: WORLD_T5_MODEL_ID, method: 'calinet', request, hparams: {}, probes: { paraphrases: [], neighborhood: [], portability: [] } } satisfies Extract<JobInput, { kind: 'edit' }>;
    await RUNNERS.edit.check(input, hub);
    const result = (await RUNNERS.edit.run(input, context(), hub)) as EditJobResult;
    expect(result.before.targetNew.p).toBeLessThan(0.01);
    expect(result.after.targetNew.p).toBeGreaterThan(0.5);
    expect(result.after.generation.startsWith(' Demaiholm')).toBe(true);
    expect(hub.versions(WORLD_T5_MODEL_ID).edits.map((e) => e.method)).toEqual(['CaliNET']);
    hub.revert(WORLD_T5_MODEL_ID, result.editId);
  });

  it('the method picker marks exactly the methods that refuse T5; their refusal is a 400 with the reason', async () => {
    for (const m of EDIT_METHODS) {
      const input = { kind: 'edit', model: WORLD_T5_MODEL_ID, method: m.id, request, hparams: {}, probes: { paraphrases: [], neighborhood: [], portability: [] } } satisfies Extract<JobInput, { kind: 'edit' }>;
      const refusal = await RUNNERS.edit.check(input, hub).then(
        () => null,
        (error: unknown) => error as { status?: number; message: string },
      );
      if (m.decoderOnly) {
        expect(refusal, m.id).toMatchObject({ status: 400, message: expect.stringMatching(new RegExp(`^${m.name} does not edit t5 models \\(encoder-decoder\\): .*encoder`)) });
      } else {
        // a method that needs training first says so (MEND, KE); none refuses the architecture
        expect(refusal?.message ?? '', m.id).not.toMatch(/does not edit/);
      }
    }
  });
});
