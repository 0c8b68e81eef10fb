'use client';

import { useQuery, useQueryClient } from '@tanstack/react-query';
import { BenchmarksResponse } from '@/lib/api/benchmarks';
import { callApi } from '@/lib/api/client';
import { JobList } from '@/lib/api/jobs';
import { EvalJobs } from './EvalJobs';
import { LaunchForm } from './LaunchForm';
import { ResultsView } from './ResultsView';
import { TrainEditors } from './TrainEditors';

/** The benchmarks page: launch evaluations, follow them, browse every result as tables and curves. */
export function Benchmarks() {
  const queryClient = useQueryClient();
  const jobs = useQuery({ queryKey: ['jobs', 'eval'], queryFn: () => callApi('/api/jobs?kind=eval&limit=20', JobList) });
  const results = useQuery({ queryKey: ['benchmarks'], queryFn: () => callApi('/api/benchmarks', BenchmarksResponse) });
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ['jobs', 'eval'] });
    void queryClient.invalidateQueries({ queryKey: ['benchmarks'] });
  };
  return (
    <div className="space-y-6">
      <LaunchForm onLaunched={refresh} />
      <EvalJobs jobs={jobs.data?.jobs} error={jobs.error} onFinished={refresh} />
      <TrainEditors onFinished={refresh} />
      {results.error && (
        <p role="alert" className="rounded border border-red-200 bg-red-50 p-3 text-sm text-red-800">
          Results could not be read: {results.error.message}
        </p>
      )}
      {results.isPending ? <p className="text-sm text-neutral-600">Reading results…</p> : <ResultsView rows={results.data?.results ?? []} training={results.data?.training ?? []} />}
    </div>
  );
}
