'use client';

import type { EditJobResult, ProbeScore } from '@/lib/api/jobs';
import { percent, visibleToken } from './format';
import { errorBox, secondaryButton } from './ui';

type ProbeKind = 'target-new' | 'target-true' | 'paraphrase' | 'neighbourhood' | 'portability';

const KIND_LABEL: Record<ProbeKind, string> = {
  'target-new': 'Edit prompt, new target (reliability)',
  'target-true': 'Edit prompt, true target',
  paraphrase: 'Paraphrase (generality)',
  neighbourhood: 'Neighbourhood (locality)',
  portability: 'Portability',
};

interface Row {
  kind: ProbeKind;
  before: ProbeScore;
  after: ProbeScore;
}

/** Before and after scores side by side, in the order the snapshot lists them. */
export function probeRows(result: EditJobResult): Row[] {
  const { before, after } = result;
  const rows: Row[] = [{ kind: 'target-new', before: before.targetNew, after: after.targetNew }];
  if (before.targetTrue && after.targetTrue) rows.push({ kind: 'target-true', before: before.targetTrue, after: after.targetTrue });
  const pair = (kind: ProbeKind, b: ProbeScore[], a: ProbeScore[]) => b.forEach((score, i) => a[i] && rows.push({ kind, before: score, after: a[i] }));
  pair('paraphrase', before.paraphrases, after.paraphrases);
  pair('neighbourhood', before.neighborhood, after.neighborhood);
  pair('portability', before.portability, after.portability);
  return rows;
}

interface Props {
  result: EditJobResult;
  /** Whether the edit is still applied to the model (undefined while unknown). */
  applied: boolean | undefined;
  onRevert: () => void;
  reverting: boolean;
  revertError: string | null;
}

function Top1({ matches }: { matches: boolean }) {
  return matches ? (
    <span className="text-emerald-800">
      <span aria-hidden="true">✓ </span>yes
    </span>
  ) : (
    <span className="text-neutral-600">
      <span aria-hidden="true">✗ </span>no
    </span>
  );
}

/** An edit's outcome: probe probabilities before and after, greedy generations, time, and Revert. */
export function EditResult({ result, applied, onRevert, reverting, revertError }: Props) {
  const rows = probeRows(result);
  const layer = result.hparams.layer ?? result.hparams.layers;
  return (
    <section aria-labelledby="edit-result-title" className="mt-4" data-testid="edit-result" data-edit-id={result.editId}>
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h3 id="edit-result-title" className="text-base font-medium">
          Edit {result.editId}: before and after
        </h3>
        <p className="text-sm text-neutral-600" data-testid="edit-time">
          {result.method} · edit {result.editSeconds.toFixed(2)} s (job {result.seconds.toFixed(2)} s)
          {result.devicePeakBytes !== null && <> · peak GPU memory {(result.devicePeakBytes / 2 ** 30).toFixed(2)} GiB</>}
          {layer !== undefined && <> · layer {JSON.stringify(layer)}</>}
        </p>
      </div>
      <div className="mt-2 overflow-x-auto">
        <table className="w-full text-left text-sm" data-testid="probe-table">
          <caption className="sr-only">
            Probability of each probe’s target before and after the edit, and whether it is the model’s top-1 prediction (every target token the most
            likely)
          </caption>
          <thead className="border-b border-neutral-200 text-neutral-600">
            <tr>
              <th scope="col" className="py-1 pr-3 font-medium">
                Probe
              </th>
              <th scope="col" className="py-1 pr-3 font-medium">
                Prompt → target
              </th>
              <th scope="col" className="py-1 pr-3 text-right font-medium">
                p before
              </th>
              <th scope="col" className="py-1 pr-3 font-medium">
                top-1 before
              </th>
              <th scope="col" className="py-1 pr-3 text-right font-medium">
                p after
              </th>
              <th scope="col" className="py-1 font-medium">
                top-1 after
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row, i) => (
              <tr key={i} className="border-b border-neutral-100 align-top" data-testid="probe-row" data-kind={row.kind}>
                <th scope="row" className="py-1 pr-3 font-normal text-neutral-700">
                  {KIND_LABEL[row.kind]}
                </th>
                <td className="py-1 pr-3">
                  <span className="font-mono">{row.before.prompt}</span> <span className="font-mono font-medium">→{visibleToken(row.before.target)}</span>
                </td>
                <td className="py-1 pr-3 text-right tabular-nums" data-testid="p-before" data-value={row.before.p}>
                  {percent(row.before.p)}
                </td>
                <td className="py-1 pr-3" data-testid="top1-before" data-value={row.before.argmaxMatches}>
                  <Top1 matches={row.before.argmaxMatches} />
                </td>
                <td className="py-1 pr-3 text-right font-medium tabular-nums" data-testid="p-after" data-value={row.after.p}>
                  {percent(row.after.p)}
                </td>
                <td className="py-1" data-testid="top1-after" data-value={row.after.argmaxMatches}>
                  <Top1 matches={row.after.argmaxMatches} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <dl className="mt-3 grid gap-x-3 gap-y-1 text-sm sm:grid-cols-[8rem_1fr]">
        <dt className="text-neutral-600">Generation before</dt>
        <dd className="font-mono" data-testid="generation-before">
          {result.before.targetNew.prompt}
          <mark className="bg-neutral-100">{result.before.generation}</mark>
        </dd>
        <dt className="text-neutral-600">Generation after</dt>
        <dd className="font-mono" data-testid="generation-after">
          {result.after.targetNew.prompt}
          <mark className="bg-sky-100">{result.after.generation}</mark>
        </dd>
      </dl>
      <p className="mt-1 text-xs text-neutral-500">Greedy continuations of the edit prompt (highlighted: generated).</p>

      {result.deltas.length > 0 && (
        <p className="mt-2 text-xs text-neutral-600">
          Changed: {result.deltas.map((d) => `${d.param} (${d.kind === 'lowRank' ? `rank ${d.rank}` : d.kind === 'ffnSlots' ? `${d.slots ?? '?'} added slot(s)` : d.kind === 'memory' ? `${d.entries ?? '?'} edit(s) kept beside the weights, answered by a counterfactual model` : 'dense'})`).join(', ')}.
        </p>
      )}
      <details className="mt-2 text-xs text-neutral-600">
        <summary className="cursor-pointer rounded focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-300">Hyper-parameters and statistics</summary>
        <pre className="mt-1 overflow-x-auto rounded bg-neutral-50 p-2">{JSON.stringify({ hparams: result.hparams, stats: result.stats }, null, 2)}</pre>
      </details>

      <div className="mt-3 flex flex-wrap items-center gap-3">
        <button type="button" className={secondaryButton} onClick={onRevert} disabled={reverting || applied === false} data-testid="revert-this-edit">
          {reverting ? 'Reverting…' : applied === false ? 'Reverted' : 'Revert this edit'}
        </button>
        <p className="text-sm text-neutral-600" aria-live="polite">
          {applied === false && 'This edit is no longer applied: the model answers as before it.'}
        </p>
      </div>
      {revertError && (
        <p role="alert" className={`${errorBox} mt-2`}>
          Could not revert: {revertError}
        </p>
      )}
    </section>
  );
}
