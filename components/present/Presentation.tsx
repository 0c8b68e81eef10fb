'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useCallback, useEffect, useRef, useState } from 'react';
import { ModelsResponse, PredictResponse } from '@/lib/api';
import { callApi } from '@/lib/api/client';
import { revertEdit } from '@/lib/api/job-client';
import { EditJobResult, type ProbeScore } from '@/lib/api/jobs';
import { templateOf } from '@/lib/editing/request';
import { EditProgressSchema } from '../studio/edit-form';
import type { StudioExample } from '../studio/examples';
import { percent, visibleToken } from '../studio/format';
import { Heatmap, HeatmapLegend } from '../studio/Heatmap';
import { LossChart } from '../studio/LossChart';
import { parseTraceEvent, parseTraceResult, traceView } from '../studio/trace-view';
import { useJob } from '../studio/useJob';
import { nextStep, STEP_KEYS, STEPS, type Step } from './steps';

const TRACE_KINDS = ['hidden', 'mlp'] as const;
const TRACE_SAMPLES = 5;

const editParsers = {
  progress: (data: unknown) => {
    const parsed = EditProgressSchema.safeParse(data);
    return parsed.success ? parsed.data : null;
  },
  result: (data: unknown) => {
    const parsed = EditJobResult.safeParse(data);
    return parsed.success ? parsed.data : null;
  },
};

function Bar({ label, score, tone }: { label: string; score: ProbeScore | null | undefined; tone: 'before' | 'after' }) {
  if (!score) return null;
  return (
    <div className="grid grid-cols-[10rem_1fr_7rem] items-center gap-4">
      <span className="text-neutral-600">{label}</span>
      <div className="h-8 rounded bg-neutral-100" aria-hidden="true">
        <div className={`h-8 rounded ${tone === 'before' ? 'bg-neutral-400' : 'bg-sky-700'}`} style={{ width: `${Math.max(0.5, score.p * 100)}%` }} />
      </div>
      <span className="text-right tabular-nums" data-testid={`present-${tone}-${label.toLowerCase().replace(/\W+/g, '-')}`}>
        {percent(score.p)}
      </span>
    </div>
  );
}

/**
 * Presentation mode for talks: one preset fact at a time in large type, one key per step — T trace,
 * E edit (ROME), B before/after, R revert; Space (or Enter) runs the next step and, after the revert,
 * moves on to the next fact; ← and → pick another fact once the model is back to its base. Every
 * number comes from the live model.
 */
export function Presentation({ facts }: { facts: readonly StudioExample[] }) {
  const models = useQuery({ queryKey: ['models'], queryFn: () => callApi('/api/models', ModelsResponse) });
  const model = models.data?.defaultModel;
  const layers = models.data?.models.find((m) => m.id === model)?.layers ?? null;
  const [index, setIndex] = useState(0);
  const [step, setStep] = useState<Step>('fact');
  const [notice, setNotice] = useState<string | null>(null);
  const fact = facts[index];
  const newTarget = fact?.alternatives?.[0];

  const predict = useMutation({ mutationFn: (prompt: string) => callApi('/api/predict', PredictResponse, { model, prompt, k: 3 }) });
  const trace = useJob({ progress: parseTraceEvent, result: parseTraceResult });
  // After the edit, the top predictions are the edited model's.
  const edit = useJob({ ...editParsers, onFinished: (state) => state === 'done' && fact && predict.mutate(fact.prompt) });
  const revert = useMutation({ mutationFn: ({ editId }: { editId: number }) => revertEdit(model!, editId) });
  const editApplied = edit.result !== null && !revert.isSuccess;

  const { mutate: predictMutate } = predict;
  useEffect(() => {
    if (model && fact) predictMutate(fact.prompt);
  }, [model, fact, predictMutate]);

  const run = useCallback(
    (target: Step) => {
      if (!model || !fact) return;
      setNotice(null);
      if (target === 'trace') {
        void trace.start({
          kind: 'trace',
          model,
          request: { prompt: fact.prompt, subject: fact.subject, target: ` ${fact.answer}`, kinds: [...TRACE_KINDS], samples: TRACE_SAMPLES, window: Math.max(1, Math.round((layers ?? 6) / 6)), positions: 'all' },
        });
      } else if (target === 'edit') {
        if (!newTarget) return setNotice('This fact has no alternative answer to edit it to.');
        if (editApplied) return setNotice('This fact is already edited: press R to revert first.');
        revert.reset();
        void edit.start({
          kind: 'edit',
          model,
          method: 'rome',
          request: { prompt: templateOf(fact.prompt, fact.subject), subject: fact.subject, targetNew: ` ${newTarget}`, targetTrue: ` ${fact.answer}` },
          // Live on stage: the bare prompt (about 2 s on a CPU) rather than context templates (about 20 s).
          hparams: { useContextTemplates: false },
          probes: {
            paraphrases: (fact.paraphrases ?? []).slice(0, 1),
            neighborhood: (fact.neighbours ?? []).slice(0, 1).map((n) => ({ prompt: n.prompt, target: ` ${n.answer}` })),
            portability: [],
          },
        });
      } else if (target === 'revert') {
        if (!edit.result || !editApplied) return setNotice('Nothing to revert: the model is at its base.');
        revert.mutate({ editId: edit.result.editId }, { onSuccess: () => predictMutate(fact.prompt) });
      } else if (target === 'compare' && !edit.result) {
        return setNotice('Run the edit first (E).');
      }
      setStep(target);
    },
    [model, fact, layers, newTarget, editApplied, trace, edit, revert, predictMutate],
  );

  const move = useCallback(
    (by: number) => {
      if (editApplied) return setNotice('Revert the edit (R) before moving to another fact.');
      setNotice(null);
      trace.reset();
      edit.reset();
      revert.reset();
      setStep('fact');
      setIndex((i) => (i + by + facts.length) % facts.length);
    },
    [editApplied, facts.length, trace, edit, revert],
  );

  // One listener for the page's lifetime, calling the latest handlers.
  const handlers = useRef({ run, move, step });
  useEffect(() => {
    handlers.current = { run, move, step };
  });
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.altKey || e.ctrlKey || e.metaKey || (e.target as HTMLElement | null)?.closest('input, textarea, select')) return;
      const { run, move, step } = handlers.current;
      const key = e.key.toLowerCase();
      const direct = STEP_KEYS[key];
      if (direct) run(direct);
      else if (key === ' ' || key === 'enter') {
        // Enter on a focused button is the button's own
        if (key === 'enter' && (e.target as HTMLElement | null)?.closest('button, a')) return;
        const next = nextStep(step);
        if (next) run(next);
        else move(1);
      } else if (key === 'arrowright') move(1);
      else if (key === 'arrowleft') move(-1);
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  if (!fact) return <p className="text-2xl">No preset facts: generate the world first (npm run world:generate).</p>;
  const at = fact.prompt.indexOf(fact.subject);
  const view = traceView(trace.events, trace.result, TRACE_KINDS);
  const steps = edit.events.filter((e) => e.type === 'step');
  const result = edit.result;

  return (
    <div className="flex min-h-screen flex-col px-10 py-8 text-2xl">
      <div className="flex items-baseline justify-between text-base text-neutral-500">
        <span>
          Fact {index + 1} of {facts.length} · {fact.relation}
        </span>
        <span>
          {models.data ? models.data.models.find((m) => m.id === model)?.label : 'loading the model list…'} ·{' '}
          <Link href="/" className="underline">
            Exit
          </Link>
        </span>
      </div>

      <p className="mt-6 font-mono text-5xl leading-tight" data-testid="present-prompt">
        {fact.prompt.slice(0, at)}
        <mark className="rounded bg-amber-200 px-1 text-neutral-900">{fact.subject}</mark>
        {fact.prompt.slice(at + fact.subject.length)} <span className="text-neutral-400">…</span>
      </p>
      <p className="mt-4 text-neutral-700" aria-live="polite" data-testid="present-top">
        {predict.data
          ? predict.data.tokens.map((t, i) => (
              <span key={t.id} className={i === 0 ? 'mr-6 font-semibold text-neutral-900' : 'mr-6'}>
                {visibleToken(t.token)} {percent(t.prob)}
              </span>
            ))
          : predict.isPending
            ? 'Asking the model…'
            : predict.error?.message}
      </p>

      <main className="mt-8 flex-1" aria-live="polite">
        {step === 'trace' && (
          <section aria-label="Causal trace" className="text-base" data-testid="present-trace">
            <p className="text-2xl">
              Where is it stored? {trace.running ? `Tracing… row ${view.done} of ${view.total || '?'}` : trace.error ? `Trace failed: ${trace.error}` : 'Restoring one state at a time after corrupting the subject:'}
            </p>
            {view.setup && (
              <div className="mt-2 grid gap-6 lg:grid-cols-2">
                <div className="lg:col-span-2">
                  <HeatmapLegend min={view.min} max={view.max} target={visibleToken(view.setup.targetToken.text)} />
                </div>
                {view.kinds.map((kind) => (
                  <Heatmap key={kind} kind={kind} setup={view.setup!} cells={view.cells[kind]} min={view.min} max={view.max} highlight={null} />
                ))}
              </div>
            )}
          </section>
        )}

        {step === 'edit' && (
          <section aria-label="Edit" data-testid="present-edit">
            <p>
              ROME: “{fact.answer}” → “<strong>{newTarget}</strong>”{' '}
              <span className="text-neutral-600">
                {edit.running ? '— optimising…' : result ? `— done in ${result.editSeconds.toFixed(2)} s. Press B.` : edit.error ? `— failed: ${edit.error}` : ''}
              </span>
            </p>
            {steps.length > 0 && (
              <div className="mt-4 max-w-3xl text-base">
                <LossChart steps={steps} />
              </div>
            )}
          </section>
        )}

        {step === 'compare' && result && (
          <section aria-label="Before and after" className="space-y-6" data-testid="present-compare">
            <div className="space-y-2">
              <p>
                p(“{newTarget}”) on the prompt
              </p>
              <Bar label="Before" score={result.before.targetNew} tone="before" />
              <Bar label="After" score={result.after.targetNew} tone="after" />
            </div>
            <div className="space-y-2">
              <p>p(“{fact.answer}”), the old answer</p>
              <Bar label="Before old" score={result.before.targetTrue} tone="before" />
              <Bar label="After old" score={result.after.targetTrue} tone="after" />
            </div>
            {result.after.neighborhood[0] && (
              <p className="text-xl text-neutral-700">
                Unrelated fact “{result.after.neighborhood[0].prompt} {result.after.neighborhood[0].target.trim()}”: {percent(result.before.neighborhood[0]!.p)} →{' '}
                {percent(result.after.neighborhood[0].p)}
              </p>
            )}
            <p className="font-mono text-xl">
              <span className="text-neutral-500">before:</span> {fact.prompt}
              {result.before.generation}
              <br />
              <span className="text-neutral-500">after:</span> {fact.prompt}
              {result.after.generation}
            </p>
          </section>
        )}

        {step === 'revert' && (
          <section aria-label="Revert" data-testid="present-revert">
            <p>{revert.isPending ? 'Reverting…' : revert.isSuccess ? 'Reverted: the model is back to its base weights, exactly.' : revert.error ? `Revert failed: ${revert.error.message}` : ''}</p>
          </section>
        )}
      </main>

      {notice && (
        <p role="alert" className="mb-2 text-xl text-red-700" data-testid="present-notice">
          {notice}
        </p>
      )}
      <footer className="flex flex-wrap gap-x-6 gap-y-1 border-t border-neutral-200 pt-3 text-base text-neutral-600">
        {STEPS.map((s) => (
          <span key={s.id} className={s.id === step ? 'font-semibold text-neutral-900' : undefined} aria-current={s.id === step ? 'step' : undefined}>
            <kbd className="rounded border border-neutral-300 px-1.5 font-mono">{s.key.toUpperCase()}</kbd> {s.label}
          </span>
        ))}
        <span>
          <kbd className="rounded border border-neutral-300 px-1.5 font-mono">Space</kbd> next step
        </span>
        <span>
          <kbd className="rounded border border-neutral-300 px-1.5 font-mono">← →</kbd> other fact
        </span>
      </footer>
    </div>
  );
}
