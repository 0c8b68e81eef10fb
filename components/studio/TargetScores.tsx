'use client';

import type { ScoreResponse } from '@/lib/api';
import { milliseconds, percent, visibleToken } from './format';

/** Teacher-forced probabilities of each compared target, token by token. */
export function TargetScores({ result }: { result: ScoreResponse }) {
  return (
    <section aria-labelledby="target-scores-title" className="mt-6">
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h2 id="target-scores-title" className="text-lg font-medium">
          Compared targets
        </h2>
        <p className="text-sm text-neutral-600">teacher-forced · {milliseconds(result.elapsedMs)}</p>
      </div>
      <table className="mt-2 w-full text-left text-sm" data-testid="target-scores">
        <caption className="sr-only">Probability of each target after the prompt, and of each of its tokens</caption>
        <thead className="border-b border-neutral-200 text-neutral-600">
          <tr>
            <th scope="col" className="py-1 pr-3 font-medium">
              Target
            </th>
            <th scope="col" className="py-1 pr-3 font-medium">
              Tokens (probability given the prompt and the tokens before)
            </th>
            <th scope="col" className="py-1 text-right font-medium">
              p(target)
            </th>
          </tr>
        </thead>
        <tbody>
          {result.targets.map((t, i) => (
            <tr key={i} className="border-b border-neutral-100 align-top" data-testid="target-row" data-target={t.target}>
              <td className="py-1 pr-3 font-mono">{visibleToken(t.target)}</td>
              <td className="py-1 pr-3">
                <ul className="flex flex-wrap gap-1">
                  {t.tokens.map((tok, j) => (
                    <li
                      key={j}
                      className={`rounded px-1 font-mono text-xs ${tok.isArgmax ? 'bg-emerald-100 text-emerald-900' : 'bg-neutral-100 text-neutral-800'}`}
                      title={tok.isArgmax ? 'the model’s most likely token here' : 'not the model’s most likely token here'}
                    >
                      {visibleToken(tok.token)} {percent(tok.prob)}
                      {tok.isArgmax && <span className="sr-only"> (most likely token)</span>}
                    </li>
                  ))}
                </ul>
              </td>
              <td className="py-1 text-right font-medium tabular-nums" data-testid="target-prob">
                {percent(t.prob)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="mt-1 text-xs text-neutral-500">Green tokens are the model’s top-1 choice at their position.</p>
    </section>
  );
}
