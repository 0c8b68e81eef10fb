/**
 * What each kind of job does on the embedded backend: a causal trace reads a model, an edit writes a
 * new version of it. The job system (server/jobs) runs these with a progress sink and a cancellation
 * signal, and takes a lock per model from `access`: reads run alongside reads, a write runs alone.
 */
import type { EditJobResult, JobInput } from '../../lib/api/jobs';
import { fillPrompt } from '../../lib/editing/request';
import { EditCancelled } from '../editing/editor';
import { editorIdOf, HparamsError, resolveHparams } from '../editing/hparams';
import { EDITORS } from '../editing/index';
import { probeSnapshot } from '../eval/snapshot';
import { traceStream, TraceRequestError } from '../tracing';
import { getHub } from './instance';
import { HubError, type ModelHub } from './hub';

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
    if (input.request.window > lm.network.spec.layers) throw new HubError(400, `window ${input.request.window} is larger than the model's ${lm.network.spec.layers} layers`);
  },
  async run(input, ctx, hub = getHub()) {
    const lm = await hub.load(input.model);
    let result: unknown = null;
    try {
      for await (const event of traceStream(lm, input.request)) {
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

const edit: RunnerSpec<'edit'> = {
  access: (input) => ({ key: `model:${input.model}`, mode: 'write' }),
  async check(input, hub = getHub()) {
    await resolve(input, hub);
  },
  async run(input, ctx, hub = getHub()) {
    const started = performance.now();
    const { workspace, method, hparams } = await resolve(input, hub);
    const { lm, versions } = workspace;
    const editor = EDITORS[method];
    const before = lm.engine.noGrad(() => probeSnapshot(lm, input.request, input.probes));
    const editStarted = performance.now();
    workspace.editing = true;
    workspace.stats.onProgress = (e) => ctx.emit('progress', e);
    let outcome;
    try {
      outcome = await editor.apply(
        { lm, stats: workspace.stats, templates: workspace.templates, onProgress: (e) => ctx.emit('progress', e), signal: ctx.signal },
        [input.request],
        hparams as never,
      );
    } catch (error) {
      if (error instanceof EditCancelled) throw new JobCancelled('edit cancelled');
      throw error;
    } finally {
      workspace.editing = false;
      workspace.stats.onProgress = undefined;
    }
    const editSeconds = (performance.now() - editStarted) / 1000;
    // past this point the edit is applied and the job finishes: a cancel must come before it
    if (ctx.signal.aborted) throw new JobCancelled('edit cancelled');
    const applied = versions.apply(editor.name, [input.request], outcome.deltas);
    const after = lm.engine.noGrad(() => probeSnapshot(lm, input.request, input.probes));
    const result: EditJobResult = {
      editId: applied.id,
      method,
      hparams,
      before,
      after,
      editSeconds,
      seconds: (performance.now() - started) / 1000,
      stats: outcome.stats,
      deltas: outcome.deltas.map((d) => ({ param: d.param, kind: d.kind, rank: d.kind === 'lowRank' ? d.rank : null })),
    };
    return result;
  },
};

/** The method, its hyper-parameters for this model, and the model's workspace; bad input as HubError(400). */
async function resolve(input: Input<'edit'>, hub: ModelHub) {
  try {
    const method = editorIdOf(input.method);
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
    return { method, hparams, workspace };
  } catch (error) {
    if (error instanceof HparamsError) throw new HubError(400, error.message);
    throw error;
  }
}

export const RUNNERS = { trace, edit } satisfies { [K in JobInput['kind']]: RunnerSpec<K> };
