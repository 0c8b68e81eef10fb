'use client';

import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { DatasetsResponse, ModelsResponse } from '@/lib/api';
import { callApi } from '@/lib/api/client';
import { startJob } from '@/lib/api/job-client';
import { EVAL_MODES } from '@/lib/api/jobs';
import { MethodChecks } from '../studio/MethodChecks';
import { ModelPicker } from '../studio/ModelPicker';
import { errorBox, hintClass, inputClass, labelClass, panelClass, primaryButton } from '../studio/ui';
import { buildEvalJobs, type EvalField, type EvalForm } from './eval-form';

const MODE_TEXT: Record<EvalForm['mode'], string> = {
  single: 'Single: each fact edited alone, then undone',
  batch: 'Batch: facts edited together, per batch size',
  sequential: 'Sequential: edits kept, earlier ones re-scored',
};

/** Launches evaluations (method × dataset × model × N, single, batch or sequential) as jobs. */
export function LaunchForm({ onLaunched }: { onLaunched: () => void }) {
  const models = useQuery({ queryKey: ['models'], queryFn: () => callApi('/api/models', ModelsResponse) });
  const datasets = useQuery({ queryKey: ['datasets'], queryFn: () => callApi('/api/datasets', DatasetsResponse) });
  const [chosenModel, setChosenModel] = useState<string>();
  const model = chosenModel ?? models.data?.defaultModel;
  const usable = datasets.data?.datasets.filter((d) => d.error === null && d.cases > 0) ?? [];
  const [form, setForm] = useState<EvalForm>({
    methods: ['rome'],
    dataset: '',
    n: '10',
    mode: 'single',
    batchSizes: '1, 5, 10',
    checkpoints: '1, 5, 10',
    useContextTemplates: false,
  });
  const dataset = form.dataset || (usable.find((d) => d.id === 'world:counterfact-test') ?? usable[0])?.id || '';
  const info = usable.find((d) => d.id === dataset);
  const [invalid, setInvalid] = useState<{ field: EvalField | 'launch'; message: string } | null>(null);
  const [launching, setLaunching] = useState(false);
  const [launched, setLaunched] = useState<string | null>(null);
  const set = <K extends keyof EvalForm>(key: K, value: EvalForm[K]) => setForm((f) => ({ ...f, [key]: value }));

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (!model) return setInvalid({ field: 'launch', message: 'Choose a model first.' });
    const built = buildEvalJobs(model, { ...form, dataset }, info?.cases);
    if (!built.ok) return setInvalid(built);
    setInvalid(null);
    setLaunched(null);
    setLaunching(true);
    let started = 0;
    try {
      for (const input of built.inputs) {
        await startJob(input);
        started++;
      }
      setLaunched(`Launched ${started} evaluation${started === 1 ? '' : 's'}.`);
    } catch (error) {
      setInvalid({ field: 'launch', message: `${started ? `Launched ${started}, then: ` : ''}${(error as Error).message}` });
    } finally {
      setLaunching(false);
      onLaunched();
    }
  }

  const fieldError = (field: EvalField | 'launch') =>
    invalid?.field === field ? (
      <p role="alert" className={field === 'launch' ? `${errorBox} mt-2` : 'mt-1 text-sm text-red-700'} data-testid={`eval-${field}-error`}>
        {invalid.message}
      </p>
    ) : null;

  return (
    <section aria-labelledby="launch-title" className={panelClass}>
      <h2 id="launch-title" className="text-lg font-medium">
        Run an evaluation
      </h2>
      <p className="mt-1 text-sm text-neutral-600">
        Edits the first N cases of a dataset with each chosen method and scores reliability, generality, locality and portability before and after, as
        EasyEdit computes them. Runs as jobs on the server; results appear below when they finish. The model’s weights are restored after each run.
      </p>
      <form onSubmit={(e) => void onSubmit(e)} noValidate className="mt-3 space-y-3" aria-label="Evaluation settings">
        <ModelPicker
          models={models.data?.models}
          value={model}
          onChange={setChosenModel}
          pending={models.isPending}
          error={models.error}
          onRetry={() => void models.refetch()}
        />
        <fieldset>
          <legend className={labelClass}>Methods</legend>
          <MethodChecks
            chosen={form.methods}
            onChange={(next) => set('methods', next)}
            architecture={models.data?.models.find((m) => m.id === model)?.architecture}
          />
          {fieldError('methods')}
        </fieldset>
        <div className="grid gap-3 sm:grid-cols-[1fr_8rem]">
          <div>
            <label htmlFor="eval-dataset" className={labelClass}>
              Dataset
            </label>
            <select id="eval-dataset" className={`${inputClass} mt-1 bg-white`} value={dataset} onChange={(e) => set('dataset', e.target.value)} aria-describedby="eval-dataset-hint">
              {datasets.isPending && <option value="">Loading…</option>}
              {usable.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.label} ({d.format}, {d.cases} cases)
                </option>
              ))}
            </select>
            {datasets.error && <p className="mt-1 text-sm text-red-700">Datasets could not be listed: {datasets.error.message}</p>}
            {fieldError('dataset')}
            <p id="eval-dataset-hint" className={hintClass}>
              The world’s sets are what the world model knows; the shared samples are the original datasets’ records (for pretrained models).
            </p>
          </div>
          <div>
            <label htmlFor="eval-n" className={labelClass}>
              Cases (N)
            </label>
            <input id="eval-n" type="number" min={1} max={info?.cases} className={`${inputClass} mt-1`} value={form.n} onChange={(e) => set('n', e.target.value)} aria-invalid={invalid?.field === 'n'} />
            {fieldError('n')}
          </div>
        </div>
        <fieldset>
          <legend className={labelClass}>Mode</legend>
          <div className="mt-1 flex flex-wrap gap-x-4 gap-y-1">
            {EVAL_MODES.map((mode) => (
              <label key={mode} className="flex items-center gap-1.5 text-sm text-neutral-800">
                <input type="radio" name="mode" value={mode} checked={form.mode === mode} onChange={() => set('mode', mode)} className="h-4 w-4" />
                {MODE_TEXT[mode]}
              </label>
            ))}
          </div>
        </fieldset>
        {form.mode === 'batch' && (
          <div>
            <label htmlFor="eval-batch-sizes" className={labelClass}>
              Batch sizes <span className="font-normal text-neutral-500">(comma-separated: one evaluation per size, for the batch-size curve)</span>
            </label>
            <input id="eval-batch-sizes" type="text" className={`${inputClass} mt-1`} value={form.batchSizes} onChange={(e) => set('batchSizes', e.target.value)} aria-invalid={invalid?.field === 'batchSizes'} />
            {fieldError('batchSizes')}
          </div>
        )}
        {form.mode === 'sequential' && (
          <div>
            <label htmlFor="eval-checkpoints" className={labelClass}>
              Checkpoints <span className="font-normal text-neutral-500">(re-score all earlier edits after these many; and at the end)</span>
            </label>
            <input id="eval-checkpoints" type="text" className={`${inputClass} mt-1`} value={form.checkpoints} onChange={(e) => set('checkpoints', e.target.value)} aria-invalid={invalid?.field === 'checkpoints'} />
            {fieldError('checkpoints')}
          </div>
        )}
        <label className="flex items-start gap-2 text-sm text-neutral-800">
          <input type="checkbox" className="mt-1 h-4 w-4" checked={form.useContextTemplates} onChange={(e) => set('useContextTemplates', e.target.checked)} />
          <span>
            Context templates for ROME and MEMIT <span className="text-neutral-500">(the papers’ setting; about 10× slower per edit on the CPU)</span>
          </span>
        </label>
        <div className="flex flex-wrap items-center gap-3">
          <button type="submit" className={primaryButton} disabled={launching || !model}>
            {launching ? 'Launching…' : 'Run evaluation'}
          </button>
          <p role="status" aria-live="polite" className="text-sm text-neutral-700" data-testid="eval-launched">
            {launched}
          </p>
        </div>
        {fieldError('launch')}
      </form>
    </section>
  );
}
