'use client';

import { useQuery } from '@tanstack/react-query';
import { useDeferredValue, useState } from 'react';
import { DatasetCasesResponse, DatasetsResponse, type DatasetCase } from '@/lib/api/benchmarks';
import { callApi } from '@/lib/api/client';
import { PROBES_MAX } from './edit-form';
import type { StudioExample } from './examples';
import { hintClass, inputClass, labelClass } from './ui';

const RESULTS = 8;

/** A dataset record as the fact box's example: the edit's targets and its probes (at most PROBES_MAX each). */
export function caseAsExample(c: DatasetCase, dataset: string): StudioExample {
  return {
    prompt: c.prompt,
    subject: c.subject,
    answer: c.targetTrue ?? '',
    relation: `${dataset} ${c.id}`,
    alternatives: [c.targetNew],
    paraphrases: c.paraphrases.slice(0, PROBES_MAX),
    neighbours: c.neighbours.slice(0, PROBES_MAX),
    portability: c.portability.slice(0, PROBES_MAX),
  };
}

/** Search the loaded datasets for a fact; picking one fills the fact box and the edit's probes. */
export function DatasetSearch({ onPick }: { onPick: (example: StudioExample) => void }) {
  const datasets = useQuery({ queryKey: ['datasets'], queryFn: () => callApi('/api/datasets', DatasetsResponse) });
  const usable = datasets.data?.datasets.filter((d) => d.error === null && d.cases > 0) ?? [];
  const [chosen, setChosen] = useState('');
  const dataset = chosen || usable[0]?.id || '';
  const [text, setText] = useState('');
  const query = useDeferredValue(text.trim());
  const results = useQuery({
    queryKey: ['dataset-cases', dataset, query],
    queryFn: () => callApi(`/api/datasets/${encodeURIComponent(dataset)}/cases?limit=${RESULTS}&q=${encodeURIComponent(query)}`, DatasetCasesResponse),
    enabled: Boolean(dataset),
  });

  return (
    <details className="mt-3 rounded border border-neutral-200 p-2">
      <summary className="cursor-pointer rounded text-sm font-medium text-neutral-800 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-300">
        Search a dataset for a fact
      </summary>
      <div className="mt-2 grid gap-3 sm:grid-cols-2">
        <div>
          <label htmlFor="search-dataset" className={labelClass}>
            Dataset
          </label>
          <select id="search-dataset" className={`${inputClass} mt-1 bg-white text-sm`} value={dataset} onChange={(e) => setChosen(e.target.value)}>
            {usable.map((d) => (
              <option key={d.id} value={d.id}>
                {d.label} ({d.cases})
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="search-text" className={labelClass}>
            Words in the prompt or targets
          </label>
          <input id="search-text" type="search" className={`${inputClass} mt-1 text-sm`} value={text} onChange={(e) => setText(e.target.value)} placeholder="Danielle Darrieux" autoComplete="off" />
        </div>
      </div>
      {datasets.error && <p className="mt-2 text-sm text-red-700">Datasets could not be listed: {datasets.error.message}</p>}
      {results.error && <p className="mt-2 text-sm text-red-700">Search failed: {results.error.message}</p>}
      {results.data && (
        <>
          <p className={hintClass} aria-live="polite" data-testid="search-count">
            {results.data.matches} of {results.data.total} records match{results.data.matches > RESULTS ? `; the first ${RESULTS} are shown` : ''}.
          </p>
          <ul className="mt-1 divide-y divide-neutral-100 text-sm" data-testid="search-results">
            {results.data.cases.map((c) => (
              <li key={c.index}>
                <button
                  type="button"
                  className="w-full rounded px-1 py-1 text-left hover:bg-neutral-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-300"
                  onClick={() => onPick(caseAsExample(c, results.data.dataset))}
                >
                  <span className="font-mono">{c.prompt}</span> <span className="text-neutral-600">{c.targetTrue ?? '?'}</span> →{' '}
                  <span className="font-medium">{c.targetNew}</span>
                  <span className="ml-2 text-xs text-neutral-500">
                    {c.paraphrases.length} paraphrases · {c.neighbours.length} neighbours · {c.portability.length} portability
                  </span>
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </details>
  );
}
