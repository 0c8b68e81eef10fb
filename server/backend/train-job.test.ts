import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JobInput, TrainJobResult, type JobEvent } from '../../lib/api/jobs';
import type { TrainProgress } from '../editing/trained';
import { JobQueue } from '../jobs/queue';
import { finished, tempDir } from '../jobs/testing';
import { HubError, ModelHub, WORLD_MODEL_DIR, WORLD_MODEL_ID } from './hub';
import { RUNNERS } from './runners';

const tmp = tempDir();
afterAll(() => tmp.remove());
const hub = new ModelHub([{ id: WORLD_MODEL_ID, label: 'World', description: '', location: path.resolve(WORLD_MODEL_DIR) }], { trainedRoot: tmp.dir });
const queue = new JobQueue({
  path: ':memory:',
  runners: {
    train: { run: (input, ctx) => RUNNERS.train.run(input, ctx, hub), access: RUNNERS.train.access, check: (input) => RUNNERS.train.check(input, hub) },
    edit: { run: (input, ctx) => RUNNERS.edit.run(input, ctx, hub), access: RUNNERS.edit.access, check: (input) => RUNNERS.edit.check(input, hub) },
  },
});
afterAll(() => queue.close());

// Small and quick: layer 5's down projection, rank 8.
const hparams = { layers: [5], projections: ['out'], rank: 8, checkpointEvery: 5 };
const trainInput = (steps: number, extra: Record<string, unknown> = {}) => JobInput.parse({ kind: 'train', model: WORLD_MODEL_ID, method: 'mend', n: 30, hparams: { ...hparams, steps }, ...extra });
const progress = (events: JobEvent[]) => events.filter((e) => e.type === 'progress').map((e) => e.data as TrainProgress);

describe('the train job', () => {
  it('refuses methods with nothing to train, and a MEND edit before MEND is trained', async () => {
    await expect(queue.check(JobInput.parse({ kind: 'train', model: WORLD_MODEL_ID, method: 'rome' }))).rejects.toThrow(/rome has no editor to train \(trainable methods: mend, ke, serac\)/);
    await expect(queue.check(JobInput.parse({ kind: 'train', model: WORLD_MODEL_ID, method: 'mend', dataset: 'world:nope' }))).rejects.toThrow(/Unknown dataset/);
    await expect(queue.check(JobInput.parse({ kind: 'train', model: WORLD_MODEL_ID, method: 'mend', dataset: 'world:zsre-train,world:nope' }))).rejects.toThrow(/Unknown dataset.*world:nope/);
    const edit = JobInput.parse({ kind: 'edit', model: WORLD_MODEL_ID, method: 'mend', request: { prompt: 'The birthplace of {} is', subject: 'Gipinin Douvez', targetNew: ' Demaiholm' }, hparams: { layers: [5], projections: ['out'], rank: 8 } });
    const refusal = queue.check(edit);
    await expect(refusal).rejects.toThrow(HubError);
    await expect(refusal).rejects.toThrow(/train MEND for this model first: npx locus train --method mend --model .*world-gpt2 --hparams '\{"layers":\[5\]\}'/);
  });

  it('streams its loss, stops when cancelled (leaving a checkpoint), resumes at the saved step, and then MEND edits', async () => {
    const job = queue.submit(trainInput(1000));
    // cancel once the 10th step's progress arrives
    const stop = queue.subscribe(job.id, 0, (e) => {
      if (e.type === 'progress' && (e.data as TrainProgress).type === 'train' && (e.data as { step: number }).step >= 10) queue.cancel(job.id);
    });
    const events = await finished(queue, job.id);
    stop();
    expect(queue.get(job.id)!.error).toBeNull();
    expect(queue.get(job.id)!.state).toBe('cancelled');
    const steps = progress(events).filter((e) => e.type === 'train');
    expect(steps.map((e) => e.step)).toEqual([10]); // every 10th step is streamed
    expect(Number.isFinite(steps[0]!.loss)).toBe(true);
    // no dataset given: MEND's world train split, as `locus train` reads it
    expect(progress(events)[0]).toEqual({ type: 'stage', stage: 'data', detail: '30 training records (world:zsre-train: 30)' });
    const checkpoints = progress(events).filter((e) => e.type === 'checkpoint');
    expect(checkpoints.at(-1)!.step).toBe(10);
    const file = (await hub.workspace(WORLD_MODEL_ID)).trained.file('mend', [5], 'checkpoint');
    expect(existsSync(file)).toBe(true);

    const resumed = queue.submit(trainInput(14));
    const resumedEvents = await finished(queue, resumed.id);
    expect(queue.get(resumed.id)!.state).toBe('done');
    expect(progress(resumedEvents).find((e) => e.type === 'stage' && e.stage === 'resume')).toMatchObject({ detail: expect.stringContaining('from step 10') });
    const result = TrainJobResult.parse(queue.get(resumed.id)!.result);
    expect(result).toMatchObject({ steps: 14, resumedFrom: 10 });
    expect(existsSync(file)).toBe(false); // the finished editor replaces its checkpoint
    expect(existsSync(result.file)).toBe(true);

    const edit = queue.submit(JobInput.parse({ kind: 'edit', model: WORLD_MODEL_ID, method: 'mend', request: { prompt: 'The birthplace of {} is', subject: 'Gipinin Douvez', targetNew: ' Demaiholm' }, hparams }));
    await finished(queue, edit.id);
    expect(queue.get(edit.id)).toMatchObject({ state: 'done', error: null });
  }, 300_000);
});
