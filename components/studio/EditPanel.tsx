'use client';

import { useState, type FormEvent } from 'react';
import { EditJobResult } from '@/lib/api/jobs';
import {
  EDIT_METHODS,
  EditProgressSchema,
  PROBES_MAX,
  TEMPLATED_METHODS,
  buildEditJob,
  defaultMethod,
  editsArchitecture,
  type EditField,
  type EditForm,
  type EditProgress,
} from './edit-form';
import { ComparePanel } from './ComparePanel';
import { EditResult } from './EditResult';
import type { StudioExample } from './examples';
import { LossChart } from './LossChart';
import { errorBox, hintClass, inputClass, labelClass, panelClass, primaryButton, secondaryButton } from './ui';
import { useJob } from './useJob';
import type { Versions } from './VersionHistory';

const parseProgress = (data: unknown): EditProgress | null => {
  const parsed = EditProgressSchema.safeParse(data);
  return parsed.success ? parsed.data : null;
};
const parseResult = (data: unknown): EditJobResult | null => {
  const parsed = EditJobResult.safeParse(data);
  return parsed.success ? parsed.data : null;
};

/** The probe boxes and the suggested new target for an example fact (empty for the user's own prompt). */
function probeFields(example: StudioExample | undefined): Pick<EditForm, 'targetNew' | 'paraphrases' | 'neighbours' | 'portability'> {
  return {
    targetNew: example?.alternatives?.[0] ?? '',
    paraphrases: (example?.paraphrases ?? []).join('\n'),
    neighbours: (example?.neighbours ?? []).map((n) => `${n.prompt} | ${n.answer}`).join('\n'),
    portability: (example?.portability ?? []).map((n) => `${n.prompt} | ${n.answer}`).join('\n'),
  };
}

interface Props {
  model: string | undefined;
  prompt: string;
  subject: string;
  /** The fact box's first compared target as typed (the answer the model gives now), or "". */
  targetTrue: string;
  /** The example the fact box holds, when it holds one. */
  example: StudioExample | undefined;
  versions: Versions;
  /** The model's architecture (lib/api ModelInfo), when known: methods that refuse it are marked. */
  architecture?: string | null;
  onFinished?: () => void;
}

/**
 * Rewrites the fact in the fact box with an editing method, as a job: stages and the loss per step
 * stream in while it runs; the result compares the probes before and after, and can be reverted.
 */
export function EditPanel({ model, prompt, subject, targetTrue, example, versions, architecture, onFinished }: Props) {
  const job = useJob({ progress: parseProgress, result: parseResult, onFinished });
  const [form, setForm] = useState<EditForm>(() => ({ method: defaultMethod(architecture), hparams: '', useContextTemplates: true, ...probeFields(example) }));
  const [invalid, setInvalid] = useState<{ field: EditField; message: string } | null>(null);
  // A new example brings its own probes and suggested target; the method and hparams stay.
  const [lastExample, setLastExample] = useState(example);
  if (example !== lastExample) {
    setLastExample(example);
    if (example) setForm((f) => ({ ...f, ...probeFields(example) }));
  }
  const set = <K extends keyof EditForm>(key: K, value: EditForm[K]) => setForm((f) => ({ ...f, [key]: value }));

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (!model) return setInvalid({ field: 'subject', message: 'Choose a model first.' });
    const built = buildEditJob({ model, prompt, subject, targetTrue }, form);
    if (!built.ok) return setInvalid({ field: built.field, message: built.message });
    setInvalid(null);
    void job.start(built.input);
  }

  const errorId = (field: EditField) => `edit-${field}-error`;
  const fieldProps = (field: EditField, hint?: string) => ({
    'aria-invalid': invalid?.field === field,
    'aria-describedby': [invalid?.field === field ? errorId(field) : null, hint].filter(Boolean).join(' ') || undefined,
  });
  const fieldError = (field: EditField) =>
    invalid?.field === field ? (
      <p id={errorId(field)} role="alert" className="mt-1 text-sm text-red-700" data-testid={`edit-${field}-error`}>
        {invalid.message}
      </p>
    ) : null;

  const stages = job.events.filter((e): e is Extract<EditProgress, { type: 'stage' }> => e.type === 'stage');
  const steps = job.events.filter((e): e is Extract<EditProgress, { type: 'step' }> => e.type === 'step');
  const stats = new Map<number, Extract<EditProgress, { type: 'stats' }>>();
  for (const e of job.events) if (e.type === 'stats') stats.set(e.layer, e);

  let status = '';
  if (job.starting) status = 'Starting the edit…';
  else if (job.state === 'queued') status = 'Queued: waiting for other jobs on this model to finish.';
  else if (job.state === 'running') status = stages.length ? `Running: ${stages.at(-1)!.stage}` : 'Running: loading the model and scoring the probes before the edit…';
  else if (job.state === 'done' && job.result) status = `Done: edit ${job.result.editId} applied in ${job.result.editSeconds.toFixed(2)} s.`;
  else if (job.state === 'cancelled') status = 'Cancelled: the model is unchanged.';
  else if (job.state === 'failed') status = 'The edit failed; the model is unchanged.';

  const result = job.result;
  const revert = versions.revert;
  const revertingThis = result !== null && revert.variables?.editId === result.editId;
  const templated = TEMPLATED_METHODS.includes(form.method);

  return (
    <section aria-labelledby="edit-title" className={panelClass}>
      <h2 id="edit-title" className="text-lg font-medium">
        Edit
      </h2>
      <p className="mt-1 text-sm text-neutral-600">
        Rewrite the fact in the fact box: after the edit, the prompt should continue with the new target. The edit prompt is the fact box’s prompt, its
        subject the fact box’s subject; its first compared target is the true answer.
      </p>

      <form onSubmit={onSubmit} noValidate className="mt-3 space-y-3" aria-label="Edit settings">
        <div className="grid gap-3 sm:grid-cols-2">
          <div>
            <label htmlFor="edit-method" className={labelClass}>
              Method
            </label>
            <select id="edit-method" className={`${inputClass} mt-1 bg-white`} value={form.method} onChange={(e) => set('method', e.target.value)}>
              {EDIT_METHODS.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.label}
                  {editsArchitecture(m, architecture) ? '' : ' (decoder-only models; refuses this one)'}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor="edit-target-new" className={labelClass}>
              New target
            </label>
            <input
              id="edit-target-new"
              type="text"
              className={`${inputClass} mt-1 font-mono`}
              value={form.targetNew}
              onChange={(e) => set('targetNew', e.target.value)}
              list={example?.alternatives?.length ? 'edit-target-suggestions' : undefined}
              autoComplete="off"
              spellCheck={false}
              aria-required="true"
              {...fieldProps('targetNew', 'edit-target-new-hint')}
            />
            {example?.alternatives?.length ? (
              <datalist id="edit-target-suggestions">
                {example.alternatives.map((a) => (
                  <option key={a} value={a} />
                ))}
              </datalist>
            ) : null}
            {fieldError('targetNew')}
            <p id="edit-target-new-hint" className={hintClass}>
              Typed without the leading space; it is added, as for compared targets.
              {example?.alternatives?.length ? ' Suggestions: other answers of the same relation in the world.' : ''}
            </p>
          </div>
        </div>

        {templated && (
          <div className="flex items-start gap-2">
            <input
              id="edit-context-templates"
              type="checkbox"
              className="mt-1 h-4 w-4 rounded border-neutral-300 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-300"
              checked={form.useContextTemplates}
              onChange={(e) => set('useContextTemplates', e.target.checked)}
              aria-describedby="edit-context-templates-hint"
            />
            <div>
              <label htmlFor="edit-context-templates" className="text-sm font-medium text-neutral-800">
                Use context templates
              </label>
              <p id="edit-context-templates-hint" className="text-xs text-neutral-500">
                Averages the key over prefixes the model generates first, as the papers do: more robust, and slower (about 20 s instead of 2 s for ROME on
                the world model). Unchecked sends <code>useContextTemplates: false</code>.
              </p>
            </div>
          </div>
        )}

        <div>
          <label htmlFor="edit-hparams" className={labelClass}>
            Hyper-parameters <span className="font-normal text-neutral-500">(optional JSON object)</span>
          </label>
          <textarea
            id="edit-hparams"
            rows={2}
            className={`${inputClass} mt-1 font-mono text-sm`}
            value={form.hparams}
            onChange={(e) => set('hparams', e.target.value)}
            placeholder='{"layer": 1}'
            spellCheck={false}
            {...fieldProps('hparams', 'edit-hparams-hint')}
          />
          {fieldError('hparams')}
          <p id="edit-hparams-hint" className={hintClass}>
            Empty: the method’s defaults for this model. Keys given here override them (and the checkbox above).
          </p>
        </div>

        <details className="rounded border border-neutral-200 p-2" open={Boolean(example?.paraphrases?.length || example?.neighbours?.length || example?.portability?.length)}>
          <summary className="cursor-pointer rounded text-sm font-medium text-neutral-800 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-300">
            Probes scored before and after (optional, up to {PROBES_MAX} lines each)
          </summary>
          <div className="mt-2 grid gap-3 sm:grid-cols-3">
            <div>
              <label htmlFor="edit-paraphrases" className={labelClass}>
                Paraphrases
              </label>
              <textarea
                id="edit-paraphrases"
                rows={4}
                className={`${inputClass} mt-1 font-mono text-xs`}
                value={form.paraphrases}
                onChange={(e) => set('paraphrases', e.target.value)}
                spellCheck={false}
                {...fieldProps('paraphrases', 'edit-paraphrases-hint')}
              />
              {fieldError('paraphrases')}
              <p id="edit-paraphrases-hint" className={hintClass}>
                One prompt per line, subject included; scored with the new target.
              </p>
            </div>
            <div>
              <label htmlFor="edit-neighbours" className={labelClass}>
                Neighbourhood
              </label>
              <textarea
                id="edit-neighbours"
                rows={4}
                className={`${inputClass} mt-1 font-mono text-xs`}
                value={form.neighbours}
                onChange={(e) => set('neighbours', e.target.value)}
                spellCheck={false}
                {...fieldProps('neighbours', 'edit-neighbours-hint')}
              />
              {fieldError('neighbours')}
              <p id="edit-neighbours-hint" className={hintClass}>
                Unrelated facts that should not change: “prompt | answer” per line.
              </p>
            </div>
            <div>
              <label htmlFor="edit-portability" className={labelClass}>
                Portability
              </label>
              <textarea
                id="edit-portability"
                rows={4}
                className={`${inputClass} mt-1 font-mono text-xs`}
                value={form.portability}
                onChange={(e) => set('portability', e.target.value)}
                spellCheck={false}
                {...fieldProps('portability', 'edit-portability-hint')}
              />
              {fieldError('portability')}
              <p id="edit-portability-hint" className={hintClass}>
                Questions whose answer follows from the new fact: “prompt | answer” per line.
              </p>
            </div>
          </div>
        </details>

        {invalid?.field === 'subject' && (
          <p role="alert" className={errorBox} data-testid="edit-subject-error">
            {invalid.message}
          </p>
        )}

        <div className="flex flex-wrap items-center gap-3">
          <button type="submit" className={primaryButton} disabled={job.running || !model}>
            {job.running ? 'Editing…' : 'Run edit'}
          </button>
          {job.running && job.summary && (
            <button type="button" className={secondaryButton} onClick={() => void job.cancel()} disabled={job.cancelling}>
              {job.cancelling ? 'Cancelling…' : 'Cancel edit'}
            </button>
          )}
          <p className="text-sm text-neutral-700" role="status" aria-live="polite" data-testid="edit-status">
            {status}
          </p>
        </div>
      </form>

      {job.error && (
        <p role="alert" className={`${errorBox} mt-3`} data-testid="edit-error">
          Edit failed: {job.error}
        </p>
      )}

      {(stages.length > 0 || stats.size > 0 || steps.length > 0) && (
        <div className="mt-4" data-testid="edit-progress">
          <h3 className="text-sm font-medium text-neutral-800">Progress</h3>
          <ol className="mt-1 list-inside list-decimal text-sm text-neutral-700" aria-live="polite" data-testid="edit-stages">
            {stages.map((s, i) => (
              <li key={i}>
                <span className="font-medium">{s.stage}</span>
                {s.detail && <>: {s.detail}</>}
              </li>
            ))}
          </ol>
          {[...stats.values()].map((s) => (
            <div key={s.layer} className="mt-2 text-sm text-neutral-700">
              <label htmlFor={`edit-stats-${s.layer}`}>
                Second-moment statistics of layer {s.layer}: {s.tokens.toLocaleString('en-US')} of {s.total.toLocaleString('en-US')} tokens
              </label>
              <progress id={`edit-stats-${s.layer}`} className="ml-2 h-2 w-40 align-middle" value={s.tokens} max={s.total} />
            </div>
          ))}
          {steps.length > 0 && <LossChart steps={steps} />}
        </div>
      )}

      {result && (
        <EditResult
          result={result}
          applied={versions.isApplied(result.editId)}
          onRevert={() => job.summary && revert.mutate({ model: job.summary.model, editId: result.editId })}
          reverting={revert.isPending && revertingThis}
          revertError={revertingThis && revert.error ? revert.error.message : null}
        />
      )}

      <ComparePanel model={model} fact={{ prompt, subject, targetTrue }} form={form} architecture={architecture} />
    </section>
  );
}
