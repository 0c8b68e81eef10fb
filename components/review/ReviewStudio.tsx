'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useRef, useState, useSyncExternalStore, type ChangeEvent, type FormEvent } from 'react';
import { ModelsResponse } from '@/lib/api';
import { callApi } from '@/lib/api/client';
import {
  Agreement,
  CHECK_BATCH_MAX,
  CheckResponse,
  DecisionResponse,
  ImportsResponse,
  ImportSummary,
  NextResponse,
  ReviewerName,
  SourcesResponse,
  type Decision,
  type ReviewItem,
} from '@/lib/api/review';
import { errorBox, hintClass, inputClass, labelClass, panelClass, primaryButton, secondaryButton } from '@/components/studio/ui';
import { ItemCard } from './ItemCard';
import { shortcutFor, SHORTCUTS, type ShortcutAction } from './keys';

const REVIEWER_KEY = 'locus.reviewer';
const REVIEWER_EVENT = 'locus-reviewer';

function subscribeReviewer(onChange: () => void): () => void {
  window.addEventListener('storage', onChange);
  window.addEventListener(REVIEWER_EVENT, onChange);
  return () => {
    window.removeEventListener('storage', onChange);
    window.removeEventListener(REVIEWER_EVENT, onChange);
  };
}

/** The reviewer's name, kept in localStorage so it is entered once per browser. */
function useReviewer(): [string, (name: string) => void] {
  const name = useSyncExternalStore(
    subscribeReviewer,
    () => window.localStorage.getItem(REVIEWER_KEY) ?? '',
    () => '',
  );
  const set = useCallback((value: string) => {
    if (value) window.localStorage.setItem(REVIEWER_KEY, value);
    else window.localStorage.removeItem(REVIEWER_KEY);
    window.dispatchEvent(new Event(REVIEWER_EVENT));
  }, []);
  return [name, set];
}

/**
 * Portability review: import a file of GPT-4-generated portability questions, decide on them one
 * at a time (buttons or keys), check whether a model knows each original fact, and export the
 * accepted ones in the file's own format.
 */
export function ReviewStudio() {
  const [reviewer, setReviewer] = useReviewer();
  const [importId, setImportId] = useState<string>('');

  return (
    <div className="space-y-6">
      <ReviewerPanel reviewer={reviewer} onChange={setReviewer} />
      <ImportPanel importId={importId} onImported={setImportId} />
      {importId && reviewer ? (
        <QueuePanel key={`${importId}/${reviewer}`} importId={importId} reviewer={reviewer} />
      ) : (
        <p className="text-sm text-neutral-600">{reviewer ? 'Import a file, or pick an earlier import, to start reviewing.' : 'Enter your name to start reviewing.'}</p>
      )}
      {importId && <AgreementPanel importId={importId} />}
    </div>
  );
}

function ReviewerPanel({ reviewer, onChange }: { reviewer: string; onChange: (name: string) => void }) {
  const [draft, setDraft] = useState('');
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<string | null>(null);

  if (reviewer && !editing) {
    return (
      <section aria-label="Reviewer" className="flex flex-wrap items-center gap-3 text-sm">
        <p>
          Reviewing as <strong data-testid="reviewer-name">{reviewer}</strong>
        </p>
        <button
          type="button"
          className={secondaryButton}
          onClick={() => {
            setDraft(reviewer);
            setEditing(true);
          }}
        >
          Change name
        </button>
      </section>
    );
  }
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const parsed = ReviewerName.safeParse(draft);
    if (!parsed.success) {
      setError(parsed.error.issues[0]?.message ?? 'Enter your name');
      return;
    }
    setError(null);
    setEditing(false);
    onChange(parsed.data);
  };
  return (
    <form onSubmit={submit} aria-label="Reviewer" className="flex flex-wrap items-end gap-3" noValidate>
      <div className="min-w-64 flex-1">
        <label htmlFor="reviewer" className={labelClass}>
          Your name (reviewer)
        </label>
        <input
          id="reviewer"
          className={`${inputClass} mt-1`}
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'reviewer-error' : 'reviewer-hint'}
          autoComplete="name"
        />
        {error ? (
          <p id="reviewer-error" role="alert" className="mt-1 text-sm text-red-700">
            {error}
          </p>
        ) : (
          <p id="reviewer-hint" className={hintClass}>
            Stored in this browser; every decision is recorded under it.
          </p>
        )}
      </div>
      <button type="submit" className={primaryButton}>
        Use this name
      </button>
    </form>
  );
}

function ImportPanel({ importId, onImported }: { importId: string; onImported: (id: string) => void }) {
  const queryClient = useQueryClient();
  const sources = useQuery({ queryKey: ['review', 'sources'], queryFn: () => callApi('/api/review/sources', SourcesResponse) });
  const imports = useQuery({ queryKey: ['review', 'imports'], queryFn: () => callApi('/api/review/imports', ImportsResponse) });
  const [fileError, setFileError] = useState<string | null>(null);
  const importFile = useMutation({
    mutationFn: (body: { source: string } | { name: string; data: unknown }) => callApi('/api/review/import', ImportSummary, body),
    onSuccess: (summary) => {
      void queryClient.invalidateQueries({ queryKey: ['review', 'imports'] });
      onImported(summary.id);
    },
  });

  const onFile = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    e.target.value = '';
    if (!file) return;
    setFileError(null);
    let data: unknown;
    try {
      data = JSON.parse(await file.text()) as unknown;
    } catch {
      setFileError(`${file.name} is not valid JSON`);
      return;
    }
    importFile.mutate({ name: file.name, data });
  };

  const error = fileError ?? importFile.error?.message;
  const chosen = imports.data?.imports.find((i) => i.id === importId);
  return (
    <section aria-labelledby="import-title" className={panelClass}>
      <h2 id="import-title" className="text-lg font-semibold">
        Import
      </h2>
      <div className="mt-3 grid gap-4 md:grid-cols-2">
        <div>
          <p className={labelClass}>Shared portability files</p>
          {sources.error ? (
            <p role="alert" className="mt-1 text-sm text-red-700">
              Could not list the files: {sources.error.message}
            </p>
          ) : sources.data && !sources.data.sources.length ? (
            <p className="mt-1 text-sm text-neutral-600">None on this machine (../shared/data/editing); upload a file instead.</p>
          ) : (
            <ul className="mt-1 space-y-2">
              {sources.data?.sources.map((s) => (
                <li key={s.name}>
                  <button type="button" className={secondaryButton} disabled={importFile.isPending} onClick={() => importFile.mutate({ source: s.name })}>
                    Import {s.name}
                  </button>
                  <span className="ml-2 text-xs text-neutral-500">{s.dataset}</span>
                </li>
              ))}
            </ul>
          )}
        </div>
        <div>
          <label htmlFor="review-upload" className={labelClass}>
            Upload a file (JSON)
          </label>
          <input
            id="review-upload"
            type="file"
            accept=".json,application/json"
            className="mt-1 block text-sm"
            disabled={importFile.isPending}
            onChange={(e) => void onFile(e)}
            aria-describedby="review-upload-hint"
          />
          <p id="review-upload-hint" className={hintClass}>
            A CounterFact or zsRE file whose records have portability {'{'}Recalled Relation, New Question, New Answer{'}'}.
          </p>
        </div>
      </div>
      <div aria-live="polite" className="mt-3 text-sm">
        {importFile.isPending && <p>Importing…</p>}
        {error && (
          <p role="alert" className={errorBox} data-testid="import-error">
            Could not import: {error}
          </p>
        )}
      </div>
      {imports.data && imports.data.imports.length > 0 && (
        <div className="mt-3">
          <label htmlFor="review-import" className={labelClass}>
            Import to review
          </label>
          <select
            id="review-import"
            className="mt-1 rounded border border-neutral-300 bg-white px-3 py-2 text-sm focus:border-sky-600 focus:outline-none focus:ring-2 focus:ring-sky-200"
            value={importId}
            onChange={(e) => onImported(e.target.value)}
          >
            <option value="">Choose…</option>
            {imports.data.imports.map((i) => (
              <option key={i.id} value={i.id}>
                {i.name} ({i.format}, {i.items} questions, {new Date(i.createdAt).toLocaleString()})
              </option>
            ))}
          </select>
          {chosen && (
            <p className="mt-2 text-sm" data-testid="import-summary">
              {chosen.name}: {chosen.items} portability questions from {chosen.records} {chosen.format} records.{' '}
              <a className="font-medium text-sky-800 underline" href={`/api/review/export?import=${encodeURIComponent(chosen.id)}&status=accepted`} download>
                Download the accepted items (JSON)
              </a>
            </p>
          )}
        </div>
      )}
    </section>
  );
}

type Mode = 'view' | 'edit' | 'flag';

function QueuePanel({ importId, reviewer }: { importId: string; reviewer: string }) {
  const queryClient = useQueryClient();
  const [after, setAfter] = useState(-1);
  const [mode, setMode] = useState<Mode>('view');
  const next = useQuery({
    queryKey: ['review', 'next', importId, reviewer, after],
    queryFn: () => callApi(`/api/review/next?${new URLSearchParams({ import: importId, reviewer, after: String(after) })}`, NextResponse),
  });
  const item = next.data?.item ?? null;

  const decide = useMutation({
    mutationFn: (body: { item: ReviewItem; decision: Decision; question?: string; answer?: string; note?: string }) =>
      callApi('/api/review/decision', DecisionResponse, {
        import: importId,
        item: body.item.index,
        reviewer,
        decision: body.decision,
        question: body.question,
        answer: body.answer,
        note: body.note,
      }),
    onSuccess: (_, body) => {
      setMode('view');
      setAfter(body.item.index);
      void queryClient.invalidateQueries({ queryKey: ['review', 'next', importId] });
      void queryClient.invalidateQueries({ queryKey: ['review', 'agreement', importId] });
    },
  });

  const act = useCallback(
    (action: ShortcutAction) => {
      if (!item || decide.isPending) return;
      decide.reset();
      if (action === 'accept' || action === 'reject') decide.mutate({ item, decision: action });
      else if (action === 'edit' || action === 'flag') setMode(action);
      else setAfter(item.index);
    },
    [item, decide],
  );

  useEffect(() => {
    if (mode !== 'view') return;
    const onKey = (e: KeyboardEvent) => {
      const action = shortcutFor(e);
      if (!action) return;
      e.preventDefault();
      act(action);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [act, mode]);

  const progress = next.data?.progress;
  return (
    <section aria-labelledby="queue-title" className={panelClass}>
      <div className="flex flex-wrap items-baseline justify-between gap-3">
        <h2 id="queue-title" className="text-lg font-semibold">
          Review
        </h2>
        {progress && (
          <div className="flex items-center gap-2 text-sm" data-testid="review-progress">
            <progress value={progress.reviewed} max={progress.total || 1} aria-label="Your progress" className="h-2 w-40" />
            <span>
              {progress.reviewed} / {progress.total} reviewed by you ({progress.reviewedByAnyone} by anyone)
            </span>
          </div>
        )}
      </div>
      <p className="mt-1 text-xs text-neutral-500" id="shortcuts">
        Keys:{' '}
        {SHORTCUTS.map((s, i) => (
          <span key={s.action}>
            {i > 0 && ' · '}
            <kbd className="rounded border border-neutral-300 px-1 font-mono">{s.keys}</kbd> {s.label}
          </span>
        ))}{' '}
        (not while typing in a field)
      </p>

      <div className="mt-4">
        {next.isPending ? (
          <p className="text-sm text-neutral-600">Loading the next item…</p>
        ) : next.error ? (
          <p role="alert" className={errorBox}>
            Could not load the next item: {next.error.message}{' '}
            <button type="button" className="underline" onClick={() => void next.refetch()}>
              Retry
            </button>
          </p>
        ) : !item ? (
          <p data-testid="queue-done" className="text-sm">
            You have reviewed every item of this import.
          </p>
        ) : (
          <div className="space-y-4">
            <ItemCard item={item} check={next.data.check} reviews={next.data.reviews} />
            {mode === 'view' && <Actions onAction={act} pending={decide.isPending} />}
            {mode === 'edit' && (
              <EditForm key={item.index} item={item} pending={decide.isPending} onCancel={() => setMode('view')} onSubmit={(q, a) => decide.mutate({ item, decision: 'accept', question: q, answer: a })} />
            )}
            {mode === 'flag' && (
              <FlagForm key={item.index} pending={decide.isPending} onCancel={() => setMode('view')} onSubmit={(note) => decide.mutate({ item, decision: 'flag', note })} />
            )}
            <div aria-live="polite">
              {decide.error && (
                <p role="alert" className={errorBox} data-testid="decision-error">
                  Could not save the decision: {decide.error.message}
                </p>
              )}
            </div>
            <CheckPanel importId={importId} item={item} />
          </div>
        )}
      </div>
    </section>
  );
}

function Actions({ onAction, pending }: { onAction: (a: ShortcutAction) => void; pending: boolean }) {
  const buttons: { action: ShortcutAction; label: string; key: string; primary?: boolean }[] = [
    { action: 'accept', label: 'Accept', key: 'a', primary: true },
    { action: 'reject', label: 'Reject', key: 'r' },
    { action: 'edit', label: 'Edit', key: 'e' },
    { action: 'flag', label: 'Flag', key: 'f' },
    { action: 'next', label: 'Next', key: 'n' },
  ];
  return (
    <div role="group" aria-label="Decision" aria-describedby="shortcuts" className="flex flex-wrap gap-2">
      {buttons.map((b) => (
        <button key={b.action} type="button" className={b.primary ? primaryButton : secondaryButton} disabled={pending} onClick={() => onAction(b.action)} aria-keyshortcuts={b.key}>
          {b.label} <kbd className="ml-1 font-mono text-xs opacity-70">{b.key}</kbd>
        </button>
      ))}
    </div>
  );
}

function EditForm({ item, pending, onCancel, onSubmit }: { item: ReviewItem; pending: boolean; onCancel: () => void; onSubmit: (question: string, answer: string) => void }) {
  const [question, setQuestion] = useState(item.question);
  const [answer, setAnswer] = useState(item.answer);
  const [error, setError] = useState<string | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!question.trim() || !answer.trim()) {
      setError(!question.trim() ? 'The question is empty' : 'The answer is empty');
      return;
    }
    setError(null);
    onSubmit(question.trim(), answer.trim());
  };
  return (
    <form onSubmit={submit} aria-label="Edit the question and answer" className="space-y-3" noValidate onKeyDown={(e) => e.key === 'Escape' && onCancel()}>
      <div>
        <label htmlFor="edit-question" className={labelClass}>
          Question
        </label>
        <textarea id="edit-question" className={`${inputClass} mt-1`} rows={2} value={question} onChange={(e) => setQuestion(e.target.value)} autoFocus />
      </div>
      <div>
        <label htmlFor="edit-answer" className={labelClass}>
          Answer
        </label>
        <input id="edit-answer" className={`${inputClass} mt-1`} value={answer} onChange={(e) => setAnswer(e.target.value)} />
      </div>
      <FormFooter error={error} pending={pending} submit="Save and accept" onCancel={onCancel} />
    </form>
  );
}

/** The end of the edit and flag forms: the form's error, its submit button and Cancel. */
function FormFooter({ error, pending, submit, onCancel }: { error: string | null; pending: boolean; submit: string; onCancel: () => void }) {
  return (
    <>
      {error && (
        <p role="alert" className="text-sm text-red-700">
          {error}
        </p>
      )}
      <div className="flex gap-2">
        <button type="submit" className={primaryButton} disabled={pending}>
          {submit}
        </button>
        <button type="button" className={secondaryButton} onClick={onCancel}>
          Cancel
        </button>
      </div>
    </>
  );
}

function FlagForm({ pending, onCancel, onSubmit }: { pending: boolean; onCancel: () => void; onSubmit: (note: string) => void }) {
  const [note, setNote] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!note.trim()) {
      setError('Say why you flag it');
      return;
    }
    setError(null);
    onSubmit(note.trim());
  };
  return (
    <form onSubmit={submit} aria-label="Flag the item" className="space-y-3" noValidate onKeyDown={(e) => e.key === 'Escape' && onCancel()}>
      <div>
        <label htmlFor="flag-note" className={labelClass}>
          Note (why flag it)
        </label>
        <textarea
          id="flag-note"
          className={`${inputClass} mt-1`}
          rows={2}
          value={note}
          onChange={(e) => setNote(e.target.value)}
          aria-invalid={error ? true : undefined}
          autoFocus
        />
      </div>
      <FormFooter error={error} pending={pending} submit="Flag" onCancel={onCancel} />
    </form>
  );
}

/** The automatic check for this item, and a bulk run over the import (batches, stoppable). */
function CheckPanel({ importId, item }: { importId: string; item: ReviewItem }) {
  const queryClient = useQueryClient();
  const models = useQuery({ queryKey: ['models'], queryFn: () => callApi('/api/models', ModelsResponse) });
  const [model, setModel] = useState('');
  const chosen = model || models.data?.defaultModel || '';
  const [bulk, setBulk] = useState<{ done: number; total: number; knows: number; running: boolean; error?: string } | null>(null);
  const stop = useRef(false);

  const checkOne = useMutation({
    mutationFn: () => callApi('/api/review/check', CheckResponse, { import: importId, model: chosen, items: [item.index] }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['review', 'next', importId] }),
  });

  const runAll = async () => {
    const summary = (await queryClient.fetchQuery({ queryKey: ['review', 'imports'], queryFn: () => callApi('/api/review/imports', ImportsResponse) })).imports.find(
      (i) => i.id === importId,
    );
    const total = summary?.items ?? 0;
    stop.current = false;
    let done = 0;
    let knows = 0;
    setBulk({ done, total, knows, running: true });
    try {
      for (let start = 0; start < total && !stop.current; start += CHECK_BATCH_MAX) {
        const items = Array.from({ length: Math.min(CHECK_BATCH_MAX, total - start) }, (_, i) => start + i);
        const res = await callApi('/api/review/check', CheckResponse, { import: importId, model: chosen, items });
        done += res.results.length;
        knows += res.results.filter((r) => r.check.knows).length;
        setBulk({ done, total, knows, running: true });
      }
      setBulk({ done, total, knows, running: false });
    } catch (err) {
      setBulk({ done, total, knows, running: false, error: err instanceof Error ? err.message : String(err) });
    }
    void queryClient.invalidateQueries({ queryKey: ['review', 'next', importId] });
  };

  return (
    <section aria-labelledby="check-title" className="rounded border border-neutral-200 p-3">
      <h3 id="check-title" className="text-sm font-semibold">
        Does the model know the original fact?
      </h3>
      <p className={hintClass}>It does when the true answer&apos;s first token is among its top-10 next tokens after the original prompt (the filter of Yao et al. 2023).</p>
      <div className="mt-2 flex flex-wrap items-end gap-2">
        <div>
          <label htmlFor="check-model" className={labelClass}>
            Model
          </label>
          <select
            id="check-model"
            className="mt-1 rounded border border-neutral-300 bg-white px-3 py-2 text-sm focus:border-sky-600 focus:outline-none focus:ring-2 focus:ring-sky-200"
            value={chosen}
            onChange={(e) => setModel(e.target.value)}
            disabled={!models.data}
          >
            {models.data?.models.map((m) => (
              <option key={m.id} value={m.id}>
                {m.label}
              </option>
            ))}
          </select>
        </div>
        <button type="button" className={secondaryButton} disabled={!chosen || checkOne.isPending || bulk?.running} onClick={() => checkOne.mutate()}>
          {checkOne.isPending ? 'Checking…' : 'Check this item'}
        </button>
        {bulk?.running ? (
          <button type="button" className={secondaryButton} onClick={() => (stop.current = true)}>
            Stop
          </button>
        ) : (
          <button type="button" className={secondaryButton} disabled={!chosen || checkOne.isPending} onClick={() => void runAll()}>
            Check all items
          </button>
        )}
      </div>
      <div aria-live="polite" className="mt-2 text-sm">
        {checkOne.error && (
          <p role="alert" className="text-red-700">
            Could not check: {checkOne.error.message}
          </p>
        )}
        {models.error && (
          <p role="alert" className="text-red-700">
            Could not list the models: {models.error.message}
          </p>
        )}
        {bulk && (
          <div data-testid="bulk-check">
            <progress value={bulk.done} max={bulk.total || 1} aria-label="Checked items" className="h-2 w-40" />{' '}
            {bulk.done} / {bulk.total} checked, {bulk.knows} known{bulk.running ? '…' : ''}
            {bulk.error && (
              <p role="alert" className="text-red-700">
                Stopped: {bulk.error} (the {bulk.done} checked so far are saved)
              </p>
            )}
          </div>
        )}
      </div>
    </section>
  );
}

function AgreementPanel({ importId }: { importId: string }) {
  const agreement = useQuery({
    queryKey: ['review', 'agreement', importId],
    queryFn: () => callApi(`/api/review/agreement?${new URLSearchParams({ import: importId })}`, Agreement),
  });
  const a = agreement.data;
  const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(0)}%`);
  return (
    <section aria-labelledby="agreement-title" className={panelClass} data-testid="agreement">
      <h2 id="agreement-title" className="text-lg font-semibold">
        Agreement
      </h2>
      {agreement.error ? (
        <p role="alert" className="text-sm text-red-700">
          Could not compute agreement: {agreement.error.message}
        </p>
      ) : a ? (
        <ul className="mt-2 space-y-1 text-sm">
          <li>
            Reviewers: {a.reviewers.length ? a.reviewers.join(', ') : 'none yet'}
          </li>
          <li>
            Items reviewed by 2+ reviewers: {a.sharedItems}; all decisions agree on {pct(a.allAgree)}
          </li>
          <li>
            Cohen&apos;s kappa
            {a.kappa
              ? ` (${a.kappa.a} vs ${a.kappa.b}, ${a.kappa.items} common items): ${a.kappa.value === null ? 'undefined (one decision throughout)' : a.kappa.value.toFixed(3)}`
              : ': needs two reviewers'}
          </li>
        </ul>
      ) : null}
    </section>
  );
}
