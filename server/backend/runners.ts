/**
 * What each kind of job does on the embedded backend: a causal trace reads a model, an edit writes a
 * new version of it. The job system (server/jobs) runs these with a progress sink and a cancellation
 * signal, and takes a lock per model from `access`: reads run alongside reads, a write runs alone.
 */
import { existsSync } from 'node:fs';
import type { CompareJobResult, CompareRun, EditJobResult, JobInput, StatisticsJobResult, TrainJobResult } from '../../lib/api/jobs';
import { fillPrompt, type EditRequest } from '../../lib/editing/request';
import { addDelta, snapshot } from '../editing/deltas';
import { EditCancelled, throwIfCancelled, type EditContext } from '../editing/editor';
import { editorIdOf, hparamLayers, HparamsError, resolveHparams } from '../editing/hparams';
import { EDITORS, type EditorId } from '../editing/index';
import { TRAINERS, trainableIdOf, trainRecords } from '../editing/trained';
import { DatasetError, getCatalog } from '../eval/catalog';
import { UnsupportedArchitectureError } from '../models/editable';
import { evaluate, peakMemory } from '../eval/runner';
import { probeSnapshot } from '../eval/snapshot';
import { traceLayers, traceModelStream, TraceRequestError } from '../tracing';
import { getHub } from './instance';
import { HubError, type ModelHub } from './hub';
import type { EditWorkspace } from './workspace';

type Input<K extends JobInput['kind']> = Extract<JobInput, { kind: K }>;

export interface RunnerContext {
  emit(type: 'progress', data: unknown): void;
  signal: AbortSignal;
  jobId: string;
}

export interface RunnerSpec<K extends JobInput['kind']> {
  /** Checks the input against the model before the job is queued: throws HubError(400) for bad input. */
  check(input: Input<K>, hub?: ModelHub): Promise<void>;
  run(input: Input<K>, ctx: RunnerContext, hub?: ModelHub): Promise<unknown>;
  access(input: Input<K>): { key: string; mode: 'read' | 'write' };
}

export class JobCancelled extends Error {
  override name = 'JobCancelled';
}

const trace: RunnerSpec<'trace'> = {
  access: (input) => ({ key: `model:${input.model}`, mode: 'read' }),
  async check(input, hub = getHub()) {
    const lm = await hub.load(input.model);
    const { subject, prompt } = input.request;
    if (!prompt.includes(subject)) throw new HubError(400, `The subject "${subject}" is not in the prompt`);
    const layers = traceLayers(lm);
    if (input.request.window > layers) throw new HubError(400, `window ${input.request.window} is larger than the model's ${layers} layers`);
  },
  async run(input, ctx, hub = getHub()) {
    const lm = await hub.load(input.model);
    let result: unknown = null;
    try {
      for await (const event of traceModelStream(lm, input.request)) {
        if (ctx.signal.aborted) throw new JobCancelled('trace cancelled');
        if (event.type === 'done') result = event.result;
        else ctx.emit('progress', event);
      }
    } catch (error) {
      if (error instanceof TraceRequestError) throw new HubError(400, error.message);
      throw error;
    }
    return result;
  },
};

/**
 * Runs an editor-driven `work` on the workspace: marked as editing meanwhile (a revert waits), its
 * statistics' progress going to `onStats`, and an editor's cancel turned into the job's.
 */
async function whileEditing<T>(workspace: EditWorkspace, what: string, onStats: EditContext['onProgress'], work: () => Promise<T>): Promise<T> {
  workspace.editing = true;
  workspace.stats.onProgress = onStats;
  try {
    return await work();
  } catch (error) {
    if (error instanceof EditCancelled) throw new JobCancelled(`${what} cancelled`);
    throw error;
  } finally {
    workspace.editing = false;
    workspace.stats.onProgress = undefined;
  }
}

const edit: RunnerSpec<'edit'> = {
  access: (input) => ({ key: `model:${input.model}`, mode: 'write' }),
  async check(input, hub = getHub()) {
    await resolve(input, hub);
  },
  async run(input, ctx, hub = getHub()) {
    const started = performance.now();
    const { workspace, method, hparams } = await resolve(input, hub);
    const { lm } = workspace;
    const editor = EDITORS[method];
    const before = lm.engine.noGrad(() => probeSnapshot(lm, input.request, input.probes));
    const device = lm.engine.backend;
    device.resetPeak?.();
    const editStarted = performance.now();
    const emit = (e: unknown) => ctx.emit('progress', e);
    const outcome = await whileEditing(workspace, 'edit', emit, () =>
      editor.apply({ lm, stats: workspace.stats, templates: workspace.templates, trained: workspace.trained, onProgress: emit, signal: ctx.signal }, [input.request], hparams as never),
    );
    const editSeconds = (performance.now() - editStarted) / 1000;
    // past this point the edit is applied and the job finishes: a cancel must come before it
    if (ctx.signal.aborted) throw new JobCancelled('edit cancelled');
    const applied = workspace.applyEdit(editor.name, [input.request], outcome.deltas);
    const after = lm.engine.noGrad(() => probeSnapshot(lm, input.request, input.probes));
    const result: EditJobResult = {
      editId: applied.id,
      method,
      hparams,
      before,
      after,
      editSeconds,
      seconds: (performance.now() - started) / 1000,
      devicePeakBytes: device.peakBytes ?? null,
      stats: outcome.stats,
      deltas: outcome.deltas.map((d) => ({ param: d.param, kind: d.kind, rank: d.kind === 'lowRank' ? d.rank : null, ...(d.kind === 'ffnSlots' ? { slots: d.count } : {}), ...(d.kind === 'memory' ? { entries: d.entries.length } : {}) })),
    };
    return result;
  },
};

/**
 * An evaluation of one method on a dataset of the catalog, on the model's current version: every
 * case is edited and scored, and the weights are restored when it ends (a write: nothing else runs).
 */
const evaluation: RunnerSpec<'eval'> = {
  access: (input) => ({ key: `model:${input.model}`, mode: 'write' }),
  async check(input, hub = getHub()) {
    await resolveEval(input, hub);
  },
  async run(input, ctx, hub = getHub()) {
    const { workspace, method, hparams, cases, format } = await resolveEval(input, hub);
    const report = await whileEditing(
      workspace,
      'evaluation',
      (e) => ctx.emit('progress', { type: 'editor', caseIds: [], event: e }),
      () =>
        evaluate({ lm: workspace.lm, stats: workspace.stats, templates: workspace.templates, trained: workspace.trained }, method, hparams, cases, {
          mode: input.mode,
          batchSize: input.batchSize,
          checkpoints: input.checkpoints ?? (input.mode === 'sequential' ? [1, 10, 100] : undefined),
          signal: ctx.signal,
          // Loss steps of every case would be thousands of stored events: progress is per edit.
          onProgress: (e) => {
            if (e.type !== 'editor' || e.event.type !== 'step') ctx.emit('progress', e);
          },
        }),
    );
    return { model: input.model, dataset: input.dataset, format, offset: input.offset, version: workspace.versions.history().length, ...report };
  },
};

async function resolveEval(input: Input<'eval'>, hub: ModelHub) {
  try {
    const method = editorIdOf(input.method);
    const workspace = await hub.workspace(input.model);
    const loaded = await getCatalog().cases(input.dataset);
    const cases = loaded.cases.slice(input.offset, input.offset + input.n);
    if (!cases.length) throw new HubError(400, `Dataset ${input.dataset} has ${loaded.cases.length} cases: none from ${input.offset}`);
    const perCall = input.mode === 'single' ? 1 : (input.batchSize ?? (input.mode === 'batch' ? cases.length : 1));
    if (perCall > 1 && !EDITORS[method].batchable) throw new HubError(400, `${EDITORS[method].name} edits one fact per call: batches of ${perCall} need a method that batches (${Object.values(EDITORS).filter((e) => e.batchable).map((e) => e.name).join(', ')})`);
    const hparams = resolveHparams(method, workspace.lm, input.hparams, workspace.location);
    requireTrained(method, hparams, workspace);
    return { method, hparams, workspace, cases, format: loaded.format };
  } catch (error) {
    if (error instanceof HparamsError || error instanceof UnsupportedArchitectureError) throw new HubError(400, error.message);
    if (error instanceof DatasetError) throw new HubError(error.status, error.message);
    throw error;
  }
}

/**
 * Several methods on the same fact: each edits the current version, is scored, and is undone before
 * the next, so every method starts from the same weights. A method that fails is reported as failed
 * and the others still run; a cancel stops them all.
 */
const compare: RunnerSpec<'compare'> = {
  access: (input) => ({ key: `model:${input.model}`, mode: 'write' }),
  async check(input, hub = getHub()) {
    for (const method of input.methods) await resolve({ ...input, method, hparams: input.hparams[method] ?? {} }, hub);
  },
  async run(input, ctx, hub = getHub()) {
    const started = performance.now();
    const workspace = await hub.workspace(input.model);
    const { lm } = workspace;
    const before = lm.engine.noGrad(() => probeSnapshot(lm, input.request, input.probes));
    const runs: CompareRun[] = [];
    // Each method points the statistics' progress at itself (compareOne).
    await whileEditing(workspace, 'comparison', undefined, async () => {
      for (const [index, id] of input.methods.entries()) {
        if (ctx.signal.aborted) throw new JobCancelled('comparison cancelled');
        ctx.emit('progress', { type: 'method', method: id, index, total: input.methods.length });
        runs.push(await compareOne(input, id, workspace, ctx, hub));
      }
    });
    const result: CompareJobResult = { before, runs, seconds: (performance.now() - started) / 1000 };
    return result;
  },
};

async function compareOne(input: Input<'compare'>, id: string, workspace: EditWorkspace, ctx: RunnerContext, hub: ModelHub): Promise<CompareRun> {
  const { lm } = workspace;
  const peak = peakMemory(lm);
  const progress = (event: unknown) => {
    peak.sample();
    ctx.emit('progress', { type: 'editor', method: id, event });
  };
  const { method, hparams } = await resolve({ ...input, method: id, hparams: input.hparams[id] ?? {} }, hub);
  const name = EDITORS[method].name;
  workspace.stats.onProgress = progress;
  const editStarted = performance.now();
  let restore: { restore(): void } | undefined;
  try {
    const outcome = await EDITORS[method].apply({ lm, stats: workspace.stats, templates: workspace.templates, trained: workspace.trained, onProgress: progress, signal: ctx.signal }, [input.request], hparams as never);
    const editSeconds = (performance.now() - editStarted) / 1000;
    restore = snapshot(lm.network, [...new Set(outcome.deltas.map((d) => d.param))]);
    for (const delta of outcome.deltas) addDelta(lm.network, delta);
    peak.sample();
    const after = lm.engine.noGrad(() => probeSnapshot(lm, input.request, input.probes));
    return { method: id, name, hparams, after, editSeconds, peakBytes: peak.bytes, peakRssBytes: peak.rssBytes, error: null };
  } catch (error) {
    if (error instanceof EditCancelled) throw error; // the whole comparison stops (whileEditing)
    return { method: id, name, hparams, after: null, editSeconds: null, peakBytes: peak.bytes, peakRssBytes: peak.rssBytes, error: (error as Error).message };
  } finally {
    restore?.restore();
  }
}

/** The method, its hyper-parameters for this model, and the model's workspace; bad input as HubError(400). */
async function resolve(input: { model: string; method: string; request: EditRequest; hparams: Record<string, unknown> }, hub: ModelHub) {
  try {
    const method: EditorId = editorIdOf(input.method);
    const workspace = await hub.workspace(input.model);
    const { lm, location } = workspace;
    const { text, subjectStart } = fillPrompt(input.request);
    if (!lm.tokenizer.encode(input.request.targetNew, { addSpecialTokens: false }).ids.length) throw new HubError(400, `The new target "${input.request.targetNew}" has no tokens`);
    try {
      lm.tokenizer.findSubjectTokens(text, input.request.subject, { at: subjectStart });
    } catch (error) {
      throw new HubError(400, (error as Error).message);
    }
    const hparams = resolveHparams(method, lm, input.hparams, location);
    requireTrained(method, hparams, workspace);
    return { method, hparams, workspace };
  } catch (error) {
    if (error instanceof HparamsError || error instanceof UnsupportedArchitectureError) throw new HubError(400, error.message);
    throw error;
  }
}

/**
 * Second moments of some layers, computed now (or found cached) so that the first ROME or MEMIT edit
 * does not wait for them. A write: an edit computing the same layer must not run alongside.
 */
const statistics: RunnerSpec<'statistics'> = {
  access: (input) => ({ key: `model:${input.model}`, mode: 'write' }),
  async check(input, hub = getHub()) {
    const { layers } = (await hub.load(input.model)).editSpec;
    const outside = input.layers.filter((l) => l >= layers);
    if (outside.length) throw new HubError(400, `Layer ${outside.join(', ')} is not in the model: its layers are 0-${layers - 1}`);
  },
  async run(input, ctx, hub = getHub()) {
    const started = performance.now();
    const workspace = await hub.workspace(input.model);
    const layers: StatisticsJobResult['layers'] = [];
    // A cancel lands at the next progress event of the layer being computed; nothing half-done is cached.
    const onStats = (e: unknown) => {
      throwIfCancelled(ctx.signal);
      ctx.emit('progress', e);
    };
    await whileEditing(workspace, 'statistics', onStats, async () => {
      for (const layer of input.layers) {
        throwIfCancelled(ctx.signal);
        const status = workspace.stats.status(layer);
        const layerStarted = performance.now();
        await workspace.stats.moment(layer);
        layers.push({ layer, source: status === 'missing' ? 'computed' : status, seconds: (performance.now() - layerStarted) / 1000 });
      }
    });
    const result: StatisticsJobResult = { text: workspace.stats.description, layers, seconds: (performance.now() - started) / 1000 };
    return result;
  },
};

/** A method that edits with a trained network refuses before it is queued when none is stored. */
function requireTrained(method: EditorId, hparams: Record<string, unknown>, workspace: EditWorkspace): void {
  if (!EDITORS[method].needs.trainedEditor) return;
  const layers = hparamLayers(hparams);
  if (!existsSync(workspace.trained.file(method, layers))) {
    throw new HubError(400, `train ${EDITORS[method].name} for this model first: ${workspace.trained.trainCommand(method, layers)} (or a train job)`);
  }
}

/**
 * Training a method's editor network on a train split of the catalog. It reads the model's weights
 * (hooks add the edits it tries), so it holds a read lock: traces run alongside, edits wait.
 * Progress: stages, checkpoints, and every 10th step's losses.
 */
const train: RunnerSpec<'train'> = {
  access: (input) => ({ key: `model:${input.model}`, mode: 'read' }),
  async check(input, hub = getHub()) {
    await resolveTrain(input, hub);
  },
  async run(input, ctx, hub = getHub()) {
    const { workspace, method, hparams, records, data } = await resolveTrain(input, hub);
    ctx.emit('progress', { type: 'stage', stage: 'data', detail: data });
    try {
      const result: TrainJobResult = await TRAINERS[method].train(workspace.lm, workspace.trained, records, hparams, {
        signal: ctx.signal,
        restart: input.restart,
        onProgress: (e) => {
          if (e.type !== 'train' || e.step % 10 === 0 || e.step === e.steps) ctx.emit('progress', e);
        },
      });
      return result;
    } catch (error) {
      if (error instanceof EditCancelled) throw new JobCancelled('training cancelled');
      throw error;
    }
  },
};

async function resolveTrain(input: Input<'train'>, hub: ModelHub) {
  try {
    const method = trainableIdOf(editorIdOf(input.method));
    const workspace = await hub.workspace(input.model);
    const datasets = input.dataset?.split(',').map((id) => id.trim()) ?? TRAINERS[method].splits.map((name) => `world:${name}`);
    const records = [];
    const read: string[] = [];
    for (const id of datasets) {
      const loaded = await getCatalog().cases(id);
      const usable = trainRecords(loaded.cases.slice(0, input.n ?? loaded.cases.length)).records;
      records.push(...usable);
      read.push(`${id}: ${usable.length}`);
    }
    if (records.length < 2) throw new HubError(400, `Dataset ${datasets.join(', ')} has ${records.length} records with a locality prompt: training needs at least 2`);
    const hparams = resolveHparams(method, workspace.lm, input.hparams, workspace.location);
    return { method, hparams, workspace, records, data: `${records.length} training records (${read.join(', ')})` };
  } catch (error) {
    if (error instanceof HparamsError || error instanceof UnsupportedArchitectureError) throw new HubError(400, error.message);
    if (error instanceof DatasetError) throw new HubError(error.status, error.message);
    throw error;
  }
}

export const RUNNERS = { trace, edit, eval: evaluation, compare, statistics, train } satisfies { [K in JobInput['kind']]: RunnerSpec<K> };
