'use client';

import { z } from 'zod';
import { EvalJobInput, type JobSummary } from '@/lib/api/jobs';
import { EDIT_METHODS } from '../studio/edit-form';
import { panelClass } from '../studio/ui';
import { parserOf, useListedJob, useNewlyFinished } from '../studio/useJob';
import { CancelJob } from './CancelJob';

/** The evaluation runner's progress events that the list shows (server/eval/runner.ts EvalProgress). */
const EvalEvent = z.union([
  z.object({ type: z.literal('edit'), done: z.number(), total: z.number(), seconds: z.number() }),
  z.object({ type: z.literal('setup'), stage: z.string(), layer: z.number().optional(), seconds: z.number() }),
  z.object({ type: z.literal('pre'), cases: z.number(), seconds: z.number() }),
  z.object({ type: z.literal('checkpoint'), edits: z.number() }),
  z.object({ type: z.literal('editor'), event: z.object({ type: z.literal('stats'), layer: z.number(), tokens: z.number(), total: z.number() }) }),
]);
type EvalEvent = z.infer<typeof EvalEvent>;
const parsers = { progress: parserOf(EvalEvent), result: (data: unknown) => data };

export function describeEval(input: unknown): string {
  const parsed = EvalJobInput.safeParse(input);
  if (!parsed.success) return 'evaluation';
  const e = parsed.data;
  const name = EDIT_METHODS.find((m) => m.id === e.method)?.name ?? e.method;
  const mode = e.mode === 'batch' ? `batch ${e.batchSize ?? e.n}` : e.mode;
  return `${name} · ${e.dataset} · ${mode} · N=${e.n}`;
}

/** One evaluation job: its state, and while it runs, its progress (followed live) and Cancel. */
function EvalJobRow({ job, onFinished }: { job: JobSummary; onFinished: () => void }) {
  const live = useListedJob(job, { ...parsers, onFinished });
  const { state, error } = live;
  const last = <T extends EvalEvent['type']>(type: T) => [...live.events].reverse().find((e) => e.type === type);
  const lastEdit = last('edit');
  const lastStats = last('editor');
  let detail = '';
  if (state === 'running') {
    if (lastEdit?.type === 'edit') detail = `${lastEdit.done} of ${lastEdit.total} edits`;
    else if (lastStats?.type === 'editor') detail = `statistics of layer ${lastStats.event.layer}: ${lastStats.event.tokens} of ${lastStats.event.total} tokens`;
    else detail = 'loading the model and scoring before the edits…';
  }
  return (
    <li className="flex flex-wrap items-center gap-x-3 gap-y-1 py-2" data-testid="eval-job" data-state={state}>
      <span className="font-medium">{describeEval(job.input)}</span>
      <span className="rounded bg-neutral-100 px-1.5 text-xs text-neutral-700">{state}</span>
      {state === 'running' && lastEdit?.type === 'edit' && <progress className="h-2 w-32" value={lastEdit.done} max={lastEdit.total} aria-label="Edits done" />}
      <span className="text-sm text-neutral-600">{detail}</span>
      {error && state !== 'done' && <span className="text-sm text-red-700">{error}</span>}
      <CancelJob job={live} />
    </li>
  );
}

/** The latest evaluation jobs, newest first; the running ones followed live. */
export function EvalJobs({ jobs, error, onFinished }: { jobs: JobSummary[] | undefined; error: Error | null; onFinished: () => void }) {
  useNewlyFinished(jobs, onFinished);
  if (!jobs?.length && !error) return null;
  return (
    <section aria-labelledby="eval-jobs-title" className={panelClass}>
      <h2 id="eval-jobs-title" className="text-lg font-medium">
        Evaluations on this server
      </h2>
      {error && <p className="mt-1 text-sm text-red-700">The job list could not be read: {error.message}</p>}
      <ul className="mt-1 divide-y divide-neutral-100 text-sm" aria-live="polite">
        {jobs?.map((job) => (
          <EvalJobRow key={job.id} job={job} onFinished={onFinished} />
        ))}
      </ul>
    </section>
  );
}
