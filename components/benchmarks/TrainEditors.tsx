'use client';

import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { z } from 'zod';
import { ModelsResponse } from '@/lib/api';
import { callApi } from '@/lib/api/client';
import { startJob } from '@/lib/api/job-client';
import { JobList, TRAINABLE_METHODS, TrainJobInput, type JobSummary, type TrainableMethod } from '@/lib/api/jobs';
import { EDIT_METHODS } from '../studio/edit-form';
import { errorBox, hintClass, inputClass, labelClass, panelClass, primaryButton } from '../studio/ui';
import { parserOf, useListedJob, useNewlyFinished } from '../studio/useJob';
import { CancelJob } from './CancelJob';

const nameOf = (id: string) => EDIT_METHODS.find((m) => m.id === id)?.name ?? id;

/** The train job's progress events (server/editing/trained/loop.ts TrainProgress). */
const TrainEvent = z.union([
  z.object({ type: z.literal('stage'), stage: z.string(), detail: z.string().optional() }),
  z.object({ type: z.literal('train'), step: z.number(), steps: z.number(), loss: z.number() }),
  z.object({ type: z.literal('checkpoint'), step: z.number() }),
]);
const parsers = { progress: parserOf(TrainEvent), result: (data: unknown) => data };

function describeTrain(input: unknown): string {
  const parsed = TrainJobInput.safeParse(input);
  if (!parsed.success) return 'training';
  const steps = parsed.data.hparams.steps;
  return `${nameOf(parsed.data.method)} · ${parsed.data.model}${typeof steps === 'number' ? ` · ${steps} steps` : ''}`;
}

/** One train job: state, and while it runs its step, loss and Cancel (a checkpoint stays for a resume). */
function TrainJobRow({ job, onFinished }: { job: JobSummary; onFinished: () => void }) {
  const live = useListedJob(job, { ...parsers, onFinished });
  const { state, error } = live;
  const step = [...live.events].reverse().find((e) => e.type === 'train');
  const stage = [...live.events].reverse().find((e) => e.type === 'stage');
  return (
    <li className="flex flex-wrap items-center gap-x-3 gap-y-1 py-2" data-testid="train-job" data-state={state}>
      <span className="font-medium">{describeTrain(job.input)}</span>
      <span className="rounded bg-neutral-100 px-1.5 text-xs text-neutral-700">{state}</span>
      {state === 'running' && step?.type === 'train' && (
        <>
          <progress className="h-2 w-32" value={step.step} max={step.steps} aria-label="Training steps done" />
          <span className="text-sm tabular-nums text-neutral-600">
            step {step.step} of {step.steps}, loss {step.loss.toFixed(3)}
          </span>
        </>
      )}
      {state === 'running' && step === undefined && <span className="text-sm text-neutral-600">{stage?.type === 'stage' ? `${stage.stage}${stage.detail ? `: ${stage.detail}` : ''}` : 'starting…'}</span>}
      {error && state !== 'done' && <span className="text-sm text-red-700">{error}</span>}
      <CancelJob job={live} />
    </li>
  );
}

/**
 * Trains MEND's, KE's or SERAC's networks for a model as a job (the studio's edits with those methods
 * need them first). A cancelled run leaves a checkpoint: training again with the same settings resumes.
 */
export function TrainEditors({ onFinished }: { onFinished: () => void }) {
  const models = useQuery({ queryKey: ['models'], queryFn: () => callApi('/api/models', ModelsResponse) });
  const jobs = useQuery({ queryKey: ['jobs', 'train'], queryFn: () => callApi('/api/jobs?kind=train&limit=10', JobList) });
  const [chosenModel, setChosenModel] = useState<string>();
  const model = chosenModel ?? models.data?.defaultModel ?? '';
  const [method, setMethod] = useState<TrainableMethod>('mend');
  const [steps, setSteps] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const n = steps.trim() === '' ? undefined : Number(steps);
    if (n !== undefined && !(Number.isInteger(n) && n >= 1 && n <= 100_000)) return setProblem('Steps: a whole number from 1 to 100000, or empty for the method’s default.');
    setProblem(null);
    setStarting(true);
    try {
      await startJob({ kind: 'train', model, method, hparams: n === undefined ? {} : { steps: n } });
      await jobs.refetch();
    } catch (error) {
      setProblem((error as Error).message);
    } finally {
      setStarting(false);
    }
  }

  const refresh = () => {
    void jobs.refetch();
    onFinished();
  };
  useNewlyFinished(jobs.data?.jobs, onFinished);
  return (
    <section aria-labelledby="train-title" className={panelClass}>
      <h2 id="train-title" className="text-lg font-medium">
        Train editor networks
      </h2>
      <p className="mt-1 text-sm text-neutral-600">
        MEND, KE and SERAC edit with networks trained beforehand on the world&apos;s train splits (SERAC: zsRE- and KnowEdit-format; the others zsRE-format). Cancel keeps a checkpoint: train again with the same
        settings to resume.
      </p>
      <form className="mt-3 grid gap-3 sm:grid-cols-4" onSubmit={(e) => void onSubmit(e)} noValidate aria-label="Training settings">
        <div>
          <label htmlFor="train-model" className={labelClass}>
            Model
          </label>
          <select id="train-model" className={`${inputClass} mt-1 bg-white`} value={model} onChange={(e) => setChosenModel(e.target.value)}>
            {models.data?.models.map((m) => (
              <option key={m.id} value={m.id}>
                {m.label}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="train-method" className={labelClass}>
            Method
          </label>
          <select id="train-method" className={`${inputClass} mt-1 bg-white`} value={method} onChange={(e) => setMethod(e.target.value as TrainableMethod)}>
            {TRAINABLE_METHODS.map((m) => (
              <option key={m} value={m}>
                {nameOf(m)}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="train-steps" className={labelClass}>
            Steps
          </label>
          <input id="train-steps" className={`${inputClass} mt-1`} inputMode="numeric" placeholder="default" value={steps} onChange={(e) => setSteps(e.target.value)} aria-describedby="train-steps-hint" />
          <p id="train-steps-hint" className={hintClass}>
            Empty: the method&apos;s default.
          </p>
        </div>
        <div className="flex items-start pt-6">
          <button type="submit" className={primaryButton} disabled={!model || starting}>
            {starting ? 'Starting…' : 'Train'}
          </button>
        </div>
      </form>
      {problem && (
        <p role="alert" className={`${errorBox} mt-2`} data-testid="train-error">
          {problem}
        </p>
      )}
      {jobs.error && <p className="mt-2 text-sm text-red-700">The training jobs could not be read: {jobs.error.message}</p>}
      {jobs.data && jobs.data.jobs.length > 0 && (
        <ul className="mt-2 divide-y divide-neutral-100 text-sm" aria-live="polite">
          {jobs.data.jobs.map((job) => (
            <TrainJobRow key={job.id} job={job} onFinished={refresh} />
          ))}
        </ul>
      )}
    </section>
  );
}
