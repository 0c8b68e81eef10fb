'use client';

import type { JobState } from '@/lib/api/jobs';
import { secondaryButton } from '../studio/ui';

/** Cancel for a job of a list, while it is queued or running. */
export function CancelJob({ job }: { job: { state: JobState | null; cancelling: boolean; cancel(): Promise<void> } }) {
  if (job.state !== 'running' && job.state !== 'queued') return null;
  return (
    <button type="button" className={`${secondaryButton} px-2 py-1 text-xs`} onClick={() => void job.cancel()} disabled={job.cancelling}>
      {job.cancelling ? 'Cancelling…' : 'Cancel'}
    </button>
  );
}
