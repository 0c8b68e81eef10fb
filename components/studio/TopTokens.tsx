'use client';

import { Bar, BarChart, CartesianGrid, LabelList, Tooltip, XAxis, YAxis } from 'recharts';
import type { PredictResponse } from '@/lib/api';
import { milliseconds, percent, visibleToken } from './format';

const ROW_HEIGHT = 28;

/**
 * The top-k next tokens as a horizontal bar chart, with the same numbers in a table below. For an
 * encoder-decoder model: the decoder's first tokens after its start token, the prompt read by the encoder.
 */
export function TopTokens({ result, architecture }: { result: PredictResponse; architecture?: string | null }) {
  const seq2seq = architecture === 'encoder-decoder';
  const data = result.tokens.map((t, i) => ({
    // Recharts keys categories by label: the rank keeps repeated token texts apart.
    label: `${i + 1}. ${visibleToken(t.token)}`,
    pct: t.prob * 100,
    prob: t.prob,
  }));
  return (
    <section aria-labelledby="top-tokens-title" className="mt-6">
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h2 id="top-tokens-title" className="text-lg font-medium">
          {seq2seq ? 'First decoder token' : 'Next token'}
        </h2>
        <p className="text-sm text-neutral-600" data-testid="predict-timing">
          {result.model} · forward pass {milliseconds(result.elapsedMs)}
          {result.loadMs > 0 && <> · model load {milliseconds(result.loadMs)}</>}
        </p>
      </div>
      <p className="mt-1 text-sm text-neutral-600">
        The {seq2seq ? 'encoder' : 'model'} reads {result.promptTokens.length} {result.promptTokens.length === 1 ? 'token' : 'tokens'}:{' '}
        <span className="font-mono" data-testid="prompt-tokens">
          {result.promptTokens.map((t, i) => (
            <span key={i} className="mr-0.5 inline-block rounded bg-neutral-100 px-1">
              {visibleToken(t)}
            </span>
          ))}
        </span>
      </p>

      <figure className="mt-3" aria-hidden="true">
        <BarChart
          responsive
          style={{ width: '100%', height: data.length * ROW_HEIGHT + 40 }}
          data={data}
          layout="vertical"
          margin={{ top: 4, right: 64, bottom: 4, left: 8 }}
        >
          <CartesianGrid horizontal={false} strokeDasharray="3 3" />
          <XAxis type="number" domain={[0, 100]} tickFormatter={(v: number) => `${v}%`} />
          <YAxis type="category" dataKey="label" width={150} tick={{ fontFamily: 'ui-monospace, monospace', fontSize: 12 }} interval={0} />
          <Tooltip formatter={(_value, _name, item) => [percent((item.payload as { prob: number }).prob), 'probability']} />
          <Bar dataKey="pct" fill="#0284c7" isAnimationActive={false}>
            <LabelList dataKey="prob" position="right" formatter={(v) => percent(Number(v))} className="fill-neutral-700 text-xs" />
          </Bar>
        </BarChart>
      </figure>

      <table className="mt-3 w-full text-left text-sm" data-testid="top-tokens">
        <caption className="sr-only">Most likely next tokens and their probabilities</caption>
        <thead className="border-b border-neutral-200 text-neutral-600">
          <tr>
            <th scope="col" className="py-1 pr-3 font-medium">
              #
            </th>
            <th scope="col" className="py-1 pr-3 font-medium">
              Token
            </th>
            <th scope="col" className="py-1 pr-3 font-medium">
              Id
            </th>
            <th scope="col" className="py-1 text-right font-medium">
              Probability
            </th>
          </tr>
        </thead>
        <tbody>
          {result.tokens.map((t, i) => (
            <tr key={t.id} className="border-b border-neutral-100" data-testid="token-row" data-token={t.token}>
              <td className="py-1 pr-3 text-neutral-500">{i + 1}</td>
              <td className="py-1 pr-3 font-mono">{visibleToken(t.token)}</td>
              <td className="py-1 pr-3 text-neutral-500">{t.id}</td>
              <td className="py-1 text-right tabular-nums">{percent(t.prob)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
