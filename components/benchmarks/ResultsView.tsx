'use client';

import { useState } from 'react';
import { CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from 'recharts';
import { benchmarksCsv, METRICS, type BenchmarkRow, type Metric, type TrainingRun } from '@/lib/api/benchmarks';
import { ChartFigure } from '../charts/ChartFigure';
import { downloadText } from '../charts/download';
import { seriesColour } from '../charts/palette';
import { EDIT_METHODS } from '../studio/edit-form';
import { inputClass, labelClass, panelClass, secondaryButton } from '../studio/ui';
import { batchCurve, sequentialCurve, type Curve } from './curves';

const pct = (v: number | null) => (v === null ? '–' : (100 * v).toFixed(1));
const METRIC_LABEL: Record<Metric, string> = { reliability: 'Reliability', generality: 'Generality', locality: 'Locality', portability: 'Portability' };
const ALL = '';

function CurveChart({ curve, xLabel, log }: { curve: Curve; xLabel: string; log: boolean }) {
  return (
    <LineChart responsive style={{ width: '100%', height: 260 }} data={curve.points} margin={{ top: 8, right: 16, bottom: 16, left: 0 }}>
      <CartesianGrid strokeDasharray="3 3" />
      <XAxis dataKey="x" type="number" scale={log ? 'log' : 'linear'} domain={log ? ['dataMin', 'dataMax'] : [0, 'dataMax']} ticks={curve.points.map((p) => p.x!)} label={{ value: xLabel, position: 'insideBottom', offset: -8 }} />
      <YAxis domain={[0, 1]} tickFormatter={(v: number) => `${Math.round(v * 100)}`} width={40} />
      <Tooltip formatter={(v) => pct(Number(v))} labelFormatter={(x) => `${xLabel}: ${x}`} />
      <Legend verticalAlign="top" />
      {curve.series.map((s, i) => (
        <Line key={s} dataKey={s} stroke={seriesColour(i)} strokeWidth={2} isAnimationActive={false} connectNulls />
      ))}
    </LineChart>
  );
}

function TableHead({ columns }: { columns: readonly string[] }) {
  return (
    <thead className="border-b border-neutral-200 text-neutral-600">
      <tr>
        {columns.map((h) => (
          <th key={h} scope="col" className="py-1 pr-3 font-medium">
            {h}
          </th>
        ))}
      </tr>
    </thead>
  );
}

/** Where a row comes from: this server's job, or the committed file under bench/results. */
function SourceCell({ row }: { row: { id: string; source: 'job' | 'committed' } }) {
  return (
    <td className="py-1 pr-3 text-xs text-neutral-600" title={row.id}>
      {row.source === 'job' ? 'this server' : row.id.replace(/^file:/, '')}
    </td>
  );
}

const mib = (bytes: number | null) => (bytes === null ? '–' : (bytes / 2 ** 20).toFixed(0));

/** The training behind the methods that edit with trained networks (their s/edit above leaves it out). */
function TrainingTable({ runs }: { runs: readonly TrainingRun[] }) {
  return (
    <div className="mt-4 overflow-x-auto">
      <table className="w-full text-left text-sm" data-testid="training-table">
        <caption className="mb-1 text-left text-sm text-neutral-600">Training of the editor networks (MEND, KE, SERAC): not counted in s/edit</caption>
        <TableHead columns={['Method', 'Steps', 'Training time', 'Peak MiB (engine / RSS)', 'Model', 'Source']} />
        <tbody>
          {runs.map((t) => (
            <tr key={t.id} className="border-b border-neutral-100" data-testid="training-row">
              <th scope="row" className="py-1 pr-3 font-medium">
                {EDIT_METHODS.find((x) => x.id === t.method)?.name ?? t.method}
              </th>
              <td className="py-1 pr-3 tabular-nums">{t.resumedFrom ? `${t.steps} (resumed at ${t.resumedFrom})` : t.steps}</td>
              <td className="py-1 pr-3 tabular-nums">{(t.seconds / 60).toFixed(1)} min</td>
              <td className="py-1 pr-3 tabular-nums">
                {mib(t.peakBytes)} / {mib(t.peakRssBytes)}
              </td>
              <td className="py-1 pr-3 text-xs text-neutral-600">{t.model}</td>
              <SourceCell row={t} />
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const describeCurve = (curve: Curve, x: string) =>
  curve.series.map((s) => `${s}: ${curve.points.filter((p) => s in p).map((p) => `${x} ${p.x} → ${pct(p[s]!)}`).join(', ')}`).join('. ');

/**
 * Results as the seed paper shows them: a Table 2-4 shaped table for one model and dataset, the
 * batch-size curve and the sequential curve; the table exports as CSV or JSON, the charts as SVG or PNG.
 */
export function ResultsView({ rows, training = [] }: { rows: readonly BenchmarkRow[]; training?: readonly TrainingRun[] }) {
  const models = [...new Set(rows.map((r) => r.model))];
  const datasets = [...new Set(rows.map((r) => r.dataset))];
  // Default to the newest result's model and dataset: the curves compare like with like.
  const [model, setModel] = useState<string | undefined>();
  const [dataset, setDataset] = useState<string | undefined>();
  const [metric, setMetric] = useState<Metric>('reliability');
  const m = model ?? rows[0]?.model ?? ALL;
  const d = dataset ?? rows[0]?.dataset ?? ALL;
  const shown = rows.filter((r) => (m === ALL || r.model === m) && (d === ALL || r.dataset === d));
  const trainings = training.filter((t) => m === ALL || t.model === m);
  const comparable = m !== ALL && d !== ALL;
  const batch = comparable ? batchCurve(shown, metric) : null;
  const sequential = comparable ? sequentialCurve(shown, metric) : null;
  const fileName = `locus-results-${m || 'all'}-${(d || 'all').replace(/[:]/g, '-')}`;

  return (
    <section aria-labelledby="results-title" className={panelClass}>
      <h2 id="results-title" className="text-lg font-medium">
        Results
      </h2>
      <p className="mt-1 text-sm text-neutral-600">
        Every evaluation finished on this server, and the reports committed under <code>bench/results</code> (real runs, described in{' '}
        <code>bench/BENCHMARKS.md</code>). Metrics are post-edit, in percent; locality is agreement with the pre-edit argmax.
      </p>
      <div className="mt-3 grid gap-3 sm:grid-cols-3">
        <div>
          <label htmlFor="results-model" className={labelClass}>
            Model
          </label>
          <select id="results-model" className={`${inputClass} mt-1 bg-white`} value={m} onChange={(e) => setModel(e.target.value)}>
            <option value={ALL}>All models</option>
            {models.map((x) => (
              <option key={x}>{x}</option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="results-dataset" className={labelClass}>
            Dataset
          </label>
          <select id="results-dataset" className={`${inputClass} mt-1 bg-white`} value={d} onChange={(e) => setDataset(e.target.value)}>
            <option value={ALL}>All datasets</option>
            {datasets.map((x) => (
              <option key={x}>{x}</option>
            ))}
          </select>
        </div>
        <div className="flex items-end gap-2">
          <button type="button" className={secondaryButton} onClick={() => downloadText(benchmarksCsv(shown), `${fileName}.csv`, 'text/csv')} disabled={!shown.length}>
            Export CSV
          </button>
          <button type="button" className={secondaryButton} onClick={() => downloadText(`${JSON.stringify(shown, null, 1)}\n`, `${fileName}.json`, 'application/json')} disabled={!shown.length}>
            Export JSON
          </button>
        </div>
      </div>

      {shown.length === 0 ? (
        <p className="mt-3 text-sm text-neutral-600">No results yet for this choice: run an evaluation above.</p>
      ) : (
        <div className="mt-3 overflow-x-auto">
          <table className="w-full text-left text-sm" data-testid="results-table">
            <caption className="sr-only">Post-edit metrics per evaluation, in percent, with seconds per edit and peak memory</caption>
            <TableHead columns={['Method', 'Mode', 'N', ...METRICS.map((k) => METRIC_LABEL[k]), 's/edit', 'Peak MiB', 'Model · dataset', 'Source']} />
            <tbody>
              {shown.map((r) => (
                <tr key={r.id} className="border-b border-neutral-100" data-testid="result-row" data-source={r.source}>
                  <th scope="row" className="py-1 pr-3 font-medium">
                    {r.method}
                  </th>
                  <td className="py-1 pr-3">{r.mode === 'batch' ? `batch ${r.batchSize}` : r.mode}</td>
                  <td className="py-1 pr-3 tabular-nums">{r.cases}</td>
                  {METRICS.map((k) => (
                    <td key={k} className="py-1 pr-3 tabular-nums" data-metric={k} title={`before: ${pct(r.pre[k])}`}>
                      {pct(r.post[k])}
                    </td>
                  ))}
                  <td className="py-1 pr-3 tabular-nums">{r.secondsPerEdit.toFixed(2)}</td>
                  <td className="py-1 pr-3 tabular-nums">{mib(r.peakBytes)}</td>
                  <td className="py-1 pr-3 text-xs text-neutral-600">
                    {r.model} · {r.dataset}
                  </td>
                  <SourceCell row={r} />
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {trainings.length > 0 && <TrainingTable runs={trainings} />}

      <div className="mt-4">
        <label htmlFor="results-metric" className={labelClass}>
          Metric for the curves
        </label>
        <select id="results-metric" className={`${inputClass} mt-1 max-w-xs bg-white`} value={metric} onChange={(e) => setMetric(e.target.value as Metric)}>
          {METRICS.map((k) => (
            <option key={k} value={k}>
              {METRIC_LABEL[k]}
            </option>
          ))}
        </select>
      </div>
      {!comparable && <p className="mt-2 text-sm text-neutral-600">Choose one model and one dataset to draw the batch-size and sequential curves.</p>}
      {batch && batch.points.length > 0 && (
        <ChartFigure title={`${METRIC_LABEL[metric]} against batch size`} description={describeCurve(batch, 'batch size')} name={`${fileName}-batch-${metric}`} testId="batch-curve">
          <CurveChart curve={batch} xLabel="edits per call (batch size)" log={batch.points.length > 2} />
        </ChartFigure>
      )}
      {sequential && sequential.points.length > 0 && (
        <ChartFigure title={`${METRIC_LABEL[metric]} of all earlier edits against edits kept`} description={describeCurve(sequential, 'edits')} name={`${fileName}-sequential-${metric}`} testId="sequential-curve">
          <CurveChart curve={sequential} xLabel="edits kept (sequential)" log={false} />
        </ChartFigure>
      )}
    </section>
  );
}
