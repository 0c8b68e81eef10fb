'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import type { z } from 'zod';
import {
  ModelsResponse,
  PredictRequest,
  PredictResponse,
  ScoreRequest,
  ScoreResponse,
  TARGETS_MAX,
  TOP_K_DEFAULT,
  TOP_K_MAX,
} from '@/lib/api';
import { callApi } from '@/lib/api/client';
import { DatasetSearch } from './DatasetSearch';
import { EditPanel } from './EditPanel';
import { subjectProblem } from './edit-form';
import type { StudioExample } from './examples';
import { ModelPicker } from './ModelPicker';
import { TargetScores } from './TargetScores';
import { TopTokens } from './TopTokens';
import { TracePanel } from './TracePanel';
import { inputClass } from './ui';
import { useVersions, VersionHistory } from './VersionHistory';

/** Used only when the world's probe file is missing (world not generated). */
const FALLBACK_PROMPT = 'The mother tongue of Danielle Darrieux is';
const FALLBACK_SUBJECT = 'Danielle Darrieux';

type Field = 'model' | 'prompt' | 'k' | 'targets';

interface Invalid {
  field: Field;
  message: string;
}

function firstIssue(error: z.ZodError): Invalid {
  const issue = error.issues[0];
  const field = (issue?.path[0] ?? 'prompt') as Field;
  return { field, message: issue?.message ?? 'Invalid input' };
}

/** Targets typed as "Paris, London": each becomes " Paris", the continuation after the prompt. */
function parseTargets(text: string): string[] {
  return text
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)
    .map((t) => ` ${t}`);
}

/**
 * The fact box: pick a model and a prompt, see the model's next-token distribution and the
 * teacher-forced probabilities of chosen targets (/api/predict, /api/score). Below it, the fact's
 * causal trace and its edit run as jobs (/api/jobs), and the model's versions list the edits applied.
 */
export function Studio({ examples }: { examples: readonly StudioExample[] }) {
  const queryClient = useQueryClient();
  const models = useQuery({ queryKey: ['models'], queryFn: () => callApi('/api/models', ModelsResponse) });
  const [chosenModel, setChosenModel] = useState<string>();
  const model = chosenModel ?? models.data?.defaultModel;

  const first = examples[0];
  const [prompt, setPrompt] = useState(first?.prompt ?? FALLBACK_PROMPT);
  const [subject, setSubject] = useState(first?.subject ?? FALLBACK_SUBJECT);
  const [targets, setTargets] = useState(first?.answer ?? '');
  const [k, setK] = useState(String(TOP_K_DEFAULT));
  const [invalid, setInvalid] = useState<Invalid | null>(null);

  const refreshModels = () => queryClient.invalidateQueries({ queryKey: ['models'] });
  const predict = useMutation({
    mutationFn: (req: PredictRequest) => callApi('/api/predict', PredictResponse, req),
    // The model list shows "loading…" while a first request loads the model, then its size.
    onMutate: refreshModels,
    onSettled: refreshModels,
  });
  const score = useMutation({ mutationFn: (req: ScoreRequest) => callApi('/api/score', ScoreResponse, req) });

  // Fixed ids: the studio appears once per page.
  const ids = { prompt: 'prompt', subject: 'subject', k: 'top-k', targets: 'targets', example: 'example' };
  const errorId = (field: Field) => `${field}-error`;
  const fieldError = (field: Field) =>
    invalid?.field === field ? (
      <p id={errorId(field)} role="alert" className="mt-1 text-sm text-red-700" data-testid={`${field}-error`}>
        {invalid.message}
      </p>
    ) : null;
  const invalidProps = (field: Field, hint?: string) => ({
    'aria-invalid': invalid?.field === field,
    'aria-describedby': [invalid?.field === field ? errorId(field) : null, hint].filter(Boolean).join(' ') || undefined,
  });

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    const predictReq = PredictRequest.safeParse({ model: model ?? '', prompt, k: k.trim() === '' ? Number.NaN : Number(k) });
    if (!predictReq.success) return setInvalid(firstIssue(predictReq.error));
    const targetList = parseTargets(targets);
    let scoreReq: ScoreRequest | null = null;
    if (targetList.length) {
      const parsed = ScoreRequest.safeParse({ model, prompt, targets: targetList });
      if (!parsed.success) return setInvalid({ ...firstIssue(parsed.error), field: 'targets' });
      scoreReq = parsed.data;
    }
    setInvalid(null);
    predict.mutate(predictReq.data);
    if (scoreReq) score.mutate(scoreReq);
    else score.reset();
  }

  // The example list follows the prompt: it names the example only while the prompt is one.
  const example = examples.findIndex((f) => f.prompt === prompt);
  // A fact picked from a dataset search, with its probes, while the prompt is still its prompt.
  const [picked, setPicked] = useState<StudioExample>();
  const current = picked?.prompt === prompt ? picked : example < 0 ? undefined : examples[example];

  function fillFact(fact: StudioExample) {
    setPrompt(fact.prompt);
    setSubject(fact.subject);
    setTargets(fact.answer);
    setInvalid(null);
  }

  function onExample(value: string) {
    const fact = examples[Number(value)];
    if (!fact) return;
    setPicked(undefined);
    fillFact(fact);
  }

  const chosen = models.data?.models.find((m) => m.id === model);
  const busy = predict.isPending || score.isPending;

  const versions = useVersions(model);
  const subjectIssue = subject ? subjectProblem(prompt, subject) : null;
  const firstTarget = targets.split(',')[0]?.trim() ?? '';
  // A job loads the model (its status changes) and an edit or a revert changes its versions.
  const onJobFinished = () => {
    void refreshModels();
    void versions.refresh();
  };

  return (
    <div className="space-y-6">
      <ModelPicker
        models={models.data?.models.map((m) =>
          // The list was fetched before this request began loading the model.
          m.id === model && busy && m.status === 'available' ? { ...m, status: 'loading' as const } : m,
        )}
        value={model}
        onChange={(id) => {
          setChosenModel(id);
          predict.reset();
          score.reset();
        }}
        pending={models.isPending}
        error={models.error}
        onRetry={() => void models.refetch()}
      />

      <form onSubmit={onSubmit} noValidate aria-labelledby="fact-title" className="rounded-lg border border-neutral-200 p-4 shadow-sm">
        <h2 id="fact-title" className="text-lg font-medium">
          Fact
        </h2>

        {examples.length > 0 && (
          <div className="mt-3">
            <label htmlFor={ids.example} className="block text-sm font-medium text-neutral-800">
              Example from the world (a phrasing the world model was trained on)
            </label>
            <select
              id={ids.example}
              className={`${inputClass} mt-1 bg-white text-sm`}
              value={example < 0 ? '' : String(example)}
              onChange={(e) => onExample(e.target.value)}
            >
              <option value="" disabled>
                Your own prompt
              </option>
              {examples.map((f, i) => (
                <option key={i} value={String(i)}>
                  {f.relation}: {f.prompt} … {f.answer}
                </option>
              ))}
            </select>
          </div>
        )}

        <DatasetSearch
          onPick={(fact) => {
            setPicked(fact);
            fillFact(fact);
          }}
        />

        <div className="mt-3">
          <label htmlFor={ids.prompt} className="block text-sm font-medium text-neutral-800">
            Prompt
          </label>
          <input
            id={ids.prompt}
            name="prompt"
            type="text"
            className={`${inputClass} mt-1 font-mono`}
            value={prompt}
            onChange={(e) => setPrompt(e.target.value)}
            aria-required="true"
            autoComplete="off"
            spellCheck={false}
            {...invalidProps('prompt', 'prompt-hint')}
          />
          {fieldError('prompt')}
          <p id="prompt-hint" className="mt-1 text-xs text-neutral-500">
            Press Enter to predict.{' '}
            {/\s$/.test(prompt) && 'The prompt ends with whitespace; GPT-2-style models expect the next word to bring its own leading space.'}
          </p>
        </div>

        <div className="mt-3">
          <label htmlFor={ids.subject} className="block text-sm font-medium text-neutral-800">
            Subject
          </label>
          <input
            id={ids.subject}
            name="subject"
            type="text"
            className={`${inputClass} mt-1 font-mono`}
            value={subject}
            onChange={(e) => setSubject(e.target.value)}
            autoComplete="off"
            spellCheck={false}
            aria-invalid={subjectIssue !== null}
            aria-describedby="subject-hint subject-problem"
          />
          <p id="subject-problem" className="mt-1 text-sm text-red-700" aria-live="polite" data-testid="subject-problem">
            {subjectIssue}
          </p>
          <p id="subject-hint" className="text-xs text-neutral-500">
            The part of the prompt the fact is about: a causal trace corrupts it, an edit rewrites what the model recalls about it. It must occur in the
            prompt.
          </p>
        </div>

        <div className="mt-3 grid gap-3 sm:grid-cols-[1fr_8rem]">
          <div>
            <label htmlFor={ids.targets} className="block text-sm font-medium text-neutral-800">
              Compare targets <span className="font-normal text-neutral-500">(optional, comma-separated, up to {TARGETS_MAX})</span>
            </label>
            <input
              id={ids.targets}
              name="targets"
              type="text"
              className={`${inputClass} mt-1 font-mono`}
              value={targets}
              onChange={(e) => setTargets(e.target.value)}
              placeholder="Paris, London"
              autoComplete="off"
              spellCheck={false}
              {...invalidProps('targets', 'targets-hint')}
            />
            {fieldError('targets')}
            <p id="targets-hint" className="mt-1 text-xs text-neutral-500">
              Each target is scored after the prompt with a leading space, token by token (teacher-forced).
            </p>
          </div>
          <div>
            <label htmlFor={ids.k} className="block text-sm font-medium text-neutral-800">
              Top k
            </label>
            <input
              id={ids.k}
              name="k"
              type="number"
              min={1}
              max={TOP_K_MAX}
              className={`${inputClass} mt-1`}
              value={k}
              onChange={(e) => setK(e.target.value)}
              {...invalidProps('k')}
            />
            {fieldError('k')}
          </div>
        </div>
        {fieldError('model')}

        <div className="mt-4 flex items-center gap-3">
          <button
            type="submit"
            className="rounded bg-sky-700 px-4 py-2 font-medium text-white hover:bg-sky-800 focus:outline-none focus:ring-2 focus:ring-sky-300 disabled:cursor-not-allowed disabled:bg-neutral-400"
            disabled={models.isPending || busy}
          >
            {busy ? 'Predicting…' : 'Predict'}
          </button>
          <p className="text-sm text-neutral-600" role="status" aria-live="polite" data-testid="predict-status">
            {busy && chosen?.status !== 'loaded' ? `Loading ${chosen?.label ?? 'the model'} and predicting…` : busy ? 'Predicting…' : ''}
          </p>
        </div>
      </form>

      {predict.error && (
        <p role="alert" className="rounded border border-red-200 bg-red-50 p-3 text-sm text-red-800" data-testid="predict-error">
          Prediction failed: {predict.error.message}
        </p>
      )}
      {score.error && (
        <p role="alert" className="rounded border border-red-200 bg-red-50 p-3 text-sm text-red-800" data-testid="score-error">
          Scoring the targets failed: {score.error.message}
        </p>
      )}
      <div className={busy ? 'opacity-50 transition-opacity' : undefined} aria-busy={busy}>
        {predict.data && <TopTokens result={predict.data} architecture={models.data?.models.find((m) => m.id === predict.data.model)?.architecture} />}
        {score.data && <TargetScores result={score.data} />}
      </div>

      {/* A job and its result belong to one model: choosing another starts the panels afresh. */}
      <TracePanel
        key={`trace-${model ?? ''}`}
        model={model}
        modelInfo={chosen}
        prompt={prompt}
        subject={subject}
        target={parseTargets(firstTarget)[0] ?? ''}
        onFinished={onJobFinished}
      />
      <EditPanel
        key={`edit-${model ?? ''}`}
        model={model}
        prompt={prompt}
        subject={subject}
        targetTrue={firstTarget}
        example={current}
        versions={versions}
        architecture={chosen?.architecture}
        onFinished={onJobFinished}
      />
      <VersionHistory model={model} versions={versions} />
    </div>
  );
}
