'use client';

import { useState } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, Tooltip, XAxis, YAxis } from 'recharts';
import { z } from 'zod';
import { CompareJobResult, type CompareRun, type ProbeScore, type ProbeSnapshot } from '@/lib/api/jobs';
import { ChartFigure } from '../charts/ChartFigure';
import { seriesColour } from '../charts/palette';
import { EDIT_METHODS, buildCompareJob, defaultCompareMethods, type EditFact, type EditForm } from './edit-form';
import { percent } from './format';
import { MethodChecks } from './MethodChecks';
import { errorBox, labelClass, primaryButton, secondaryButton } from './ui';
import { useJob } from './useJob';

const MethodEvent = z.object({ type: z.literal('method'), method: z.string(), index: z.number(), total: z.number() });
type MethodEvent = z.infer<typeof MethodEvent>;
const parseProgress = (data: unknown): MethodEvent | null => {
  const parsed = MethodEvent.safeParse(data);
  return parsed.success ? parsed.data : null;
};
const parseResult = (data: unknown): CompareJobResult | null => {
  const parsed = CompareJobResult.safeParse(data);
  return parsed.success ? parsed.data : null;
};

const mean = (scores: readonly ProbeScore[]) => (scores.length ? scores.reduce((a, s) => a + s.p, 0) / scores.length : null);
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** The groups of probes a comparison is read by, and each one's mean probability in a snapshot. */
const GROUPS = [
  { key: 'edit', label: 'Edit prompt (new)', of: (s: ProbeSnapshot) => s.targetNew.p },
  { key: 'paraphrase', label: 'Paraphrases (new)', of: (s: ProbeSnapshot) => mean(s.paraphrases) },
  { key: 'neighbourhood', label: 'Neighbourhood (kept)', of: (s: ProbeSnapshot) => mean(s.neighborhood) },
  { key: 'portability', label: 'Portability', of: (s: ProbeSnapshot) => mean(s.portability) },
] as const;

interface Props {
  model: string | undefined;
  fact: Omit<EditFact, 'model'>;
  /** The edit panel's form: the new target, probes and context-template choice are shared. */
  form: EditForm;
  /** The model's architecture (lib/api ModelInfo), when known: methods that refuse it are marked. */
  architecture?: string | null;
}

/**
 * Several methods on the fact of the edit panel, each from the same weights (the server undoes each
 * edit before the next): probabilities, greedy continuations, edit time and peak memory side by side.
 * Nothing is kept: the model's versions do not change.
 */
export function ComparePanel({ model, fact, form, architecture }: Props) {
  const job = useJob({ progress: parseProgress, result: parseResult });
  const [methods, setMethods] = useState<string[]>(() => defaultCompareMethods(architecture));
  const [problem, setProblem] = useState<string | null>(null);

  function onCompare() {
    if (!model) return setProblem('Choose a model first.');
    const built = buildCompareJob({ ...fact, model }, form, EDIT_METHODS.map((m) => m.id).filter((id) => methods.includes(id)));
    if (!built.ok) return setProblem(built.message);
    setProblem(null);
    void job.start(built.input);
  }

  const current = job.events.at(-1);
  let status = '';
  if (job.starting) status = 'Starting the comparison…';
  else if (job.state === 'queued') status = 'Queued: waiting for other jobs on this model to finish.';
  else if (job.state === 'running') status = current ? `Running ${current.index + 1} of ${current.total}: ${current.method}` : 'Running: scoring the probes before any edit…';
  else if (job.state === 'done' && job.result) status = `Done in ${job.result.seconds.toFixed(1)} s; the model is unchanged.`;
  else if (job.state === 'cancelled') status = 'Cancelled: the model is unchanged.';

  return (
    <section aria-labelledby="compare-title" className="mt-6 border-t border-neutral-200 pt-4" data-testid="compare-panel">
      <h3 id="compare-title" className="text-base font-medium">
        Compare methods on this fact
      </h3>
      <p className="mt-1 text-sm text-neutral-600">
        Runs each chosen method on the same fact, target and probes as above, from the same weights, and undoes it before the next: nothing is kept.
        Each method uses its defaults for this model (the JSON box applies to a single edit).
      </p>
      <fieldset className="mt-2">
        <legend className={labelClass}>Methods</legend>
        <MethodChecks chosen={methods} onChange={setMethods} architecture={architecture} />
      </fieldset>
      <div className="mt-3 flex flex-wrap items-center gap-3">
        <button type="button" className={primaryButton} onClick={onCompare} disabled={job.running || !model}>
          {job.running ? 'Comparing…' : 'Compare'}
        </button>
        {job.running && job.summary && (
          <button type="button" className={secondaryButton} onClick={() => void job.cancel()} disabled={job.cancelling}>
            {job.cancelling ? 'Cancelling…' : 'Cancel comparison'}
          </button>
        )}
        <p className="text-sm text-neutral-700" role="status" aria-live="polite" data-testid="compare-status">
          {status}
        </p>
      </div>
      {(problem || job.error) && (
        <p role="alert" className={`${errorBox} mt-3`} data-testid="compare-error">
          {problem ?? `Comparison failed: ${job.error}`}
        </p>
      )}
      {job.result && <CompareResult result={job.result} />}
    </section>
  );
}

function CompareResult({ result }: { result: CompareJobResult }) {
  const ok = result.runs.filter((r): r is CompareRun & { after: ProbeSnapshot } => r.after !== null);
  const present = GROUPS.filter((g) => g.of(result.before) !== null);
  const chart = present.map((g) => ({
    group: g.label,
    before: g.of(result.before),
    ...Object.fromEntries(ok.map((r) => [r.name, g.of(r.after)])),
  }));
  const cell = (v: number | null) => (v === null ? '–' : percent(v));
  return (
    <div className="mt-4" data-testid="compare-result">
      <div className="overflow-x-auto">
        <table className="w-full text-left text-sm" data-testid="compare-table">
          <caption className="sr-only">Probability of each group of probes before and after each method, edit time and peak memory</caption>
          <thead className="border-b border-neutral-200 text-neutral-600">
            <tr>
              <th scope="col" className="py-1 pr-3 font-medium">
                Method
              </th>
              {present.map((g) => (
                <th key={g.key} scope="col" className="py-1 pr-3 font-medium">
                  {g.label}
                </th>
              ))}
              <th scope="col" className="py-1 pr-3 font-medium">
                Old answer
              </th>
              <th scope="col" className="py-1 pr-3 font-medium">
                Edit time
              </th>
              <th scope="col" className="py-1 pr-3 font-medium">
                Peak memory
              </th>
            </tr>
          </thead>
          <tbody>
            <tr className="border-b border-neutral-100 text-neutral-600">
              <th scope="row" className="py-1 pr-3 font-medium">
                Before
              </th>
              {present.map((g) => (
                <td key={g.key} className="py-1 pr-3 tabular-nums">
                  {cell(g.of(result.before))}
                </td>
              ))}
              <td className="py-1 pr-3 tabular-nums">{cell(result.before.targetTrue?.p ?? null)}</td>
              <td className="py-1 pr-3">–</td>
              <td className="py-1 pr-3">–</td>
            </tr>
            {result.runs.map((run) => (
              <tr key={run.method} className="border-b border-neutral-100" data-testid={`compare-row-${run.method}`}>
                <th scope="row" className="py-1 pr-3 font-medium">
                  {run.name}
                </th>
                {run.after ? (
                  <>
                    {present.map((g) => (
                      <td key={g.key} className="py-1 pr-3 tabular-nums" data-testid={`compare-${run.method}-${g.key}`}>
                        {cell(g.of(run.after!))}
                      </td>
                    ))}
                    <td className="py-1 pr-3 tabular-nums">{cell(run.after.targetTrue?.p ?? null)}</td>
                    <td className="py-1 pr-3 tabular-nums" data-testid={`compare-${run.method}-time`}>
                      {run.editSeconds!.toFixed(2)} s
                    </td>
                    <td className="py-1 pr-3 tabular-nums">{mib(run.peakBytes)}</td>
                  </>
                ) : (
                  <td colSpan={present.length + 3} className="py-1 pr-3 text-red-700">
                    Failed: {run.error}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="mt-1 text-xs text-neutral-500">
        Mean probability of the whole target over each group’s prompts (teacher-forced). Peak memory is the engine’s tensors at their largest while the
        method ran.
      </p>
      {ok.length > 0 && (
        <ChartFigure
          title="Mean probability by probe group"
          description={chart.map((row) => `${row.group}: ${Object.entries(row).filter(([k]) => k !== 'group').map(([k, v]) => `${k} ${cell(v as number | null)}`).join(', ')}`).join('. ')}
          name="compare-methods"
          testId="compare-chart"
        >
          <BarChart responsive style={{ width: '100%', height: 260 }} data={chart} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="group" />
            <YAxis domain={[0, 1]} tickFormatter={(v: number) => `${Math.round(v * 100)}%`} width={48} />
            <Tooltip formatter={(v) => percent(Number(v))} />
            <Legend />
            <Bar dataKey="before" name="Before" fill="#999999" isAnimationActive={false} />
            {ok.map((r, i) => (
              <Bar key={r.method} dataKey={r.name} fill={seriesColour(i)} isAnimationActive={false} />
            ))}
          </BarChart>
        </ChartFigure>
      )}
      <h4 className="mt-3 text-sm font-medium text-neutral-800">Greedy continuations of the edit prompt</h4>
      <dl className="mt-1 grid grid-cols-[auto_1fr] gap-x-3 text-sm" data-testid="compare-generations">
        <dt className="text-neutral-600">Before</dt>
        <dd className="font-mono">{result.before.generation}</dd>
        {ok.map((r) => (
          <div key={r.method} className="contents">
            <dt className="text-neutral-600">{r.name}</dt>
            <dd className="font-mono">{r.after.generation}</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}
