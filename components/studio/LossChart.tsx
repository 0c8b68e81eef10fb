'use client';

import { CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from 'recharts';
import { seriesColour } from '../charts/palette';
import type { EditProgress } from './edit-form';

type Step = Extract<EditProgress, { type: 'step' }>;

/** Loss per optimisation step, one line per edit request (ROME/MEMIT's v*, FT's Adam steps). */
export function LossChart({ steps }: { steps: readonly Step[] }) {
  const requests = [...new Set(steps.map((s) => s.request))].sort((a, b) => a - b);
  const byStep = new Map<number, Record<string, number>>();
  for (const s of steps) byStep.set(s.step, { ...(byStep.get(s.step) ?? { step: s.step }), [`r${s.request}`]: s.loss });
  const data = [...byStep.values()].sort((a, b) => a.step! - b.step!);
  const last = steps.at(-1);
  return (
    <figure className="mt-3" data-testid="loss-chart">
      <figcaption className="text-sm font-medium text-neutral-800">Loss per step</figcaption>
      <div aria-hidden="true">
        <LineChart responsive style={{ width: '100%', height: 220 }} data={data} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="step" type="number" domain={['dataMin', 'dataMax']} allowDecimals={false} label={{ value: 'step', position: 'insideBottomRight', offset: -4 }} />
          <YAxis tickFormatter={(v: number) => v.toPrecision(2)} width={56} />
          <Tooltip formatter={(v) => Number(v).toPrecision(4)} labelFormatter={(step) => `step ${step}`} />
          {requests.length > 1 && <Legend />}
          {requests.map((r, i) => (
            <Line
              key={r}
              type="linear"
              dataKey={`r${r}`}
              name={`request ${r}`}
              stroke={seriesColour(i)}
              dot={false}
              strokeWidth={2}
              isAnimationActive={false}
              connectNulls
            />
          ))}
        </LineChart>
      </div>
      {last && (
        <p className="text-xs text-neutral-600" data-testid="loss-last">
          {steps.length} steps; last: step {last.step}, loss {last.loss.toPrecision(4)}
          {Object.entries(last.terms).length > 0 && <> ({Object.entries(last.terms).map(([k, v]) => `${k} ${v.toPrecision(3)}`).join(', ')})</>}
        </p>
      )}
    </figure>
  );
}
