'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { getVersions, revertEdit } from '@/lib/api/job-client';
import type { VersionsResponse } from '@/lib/api/jobs';
import { errorBox, panelClass, secondaryButton } from './ui';

const versionsKey = (model: string | undefined) => ['versions', model] as const;

/** The model's applied edits (GET /api/models/{id}/versions) and a revert that updates them. */
export function useVersions(model: string | undefined) {
  const queryClient = useQueryClient();
  const query = useQuery({ queryKey: versionsKey(model), queryFn: () => getVersions(model!), enabled: Boolean(model) });
  const revert = useMutation({
    mutationFn: ({ model, editId }: { model: string; editId: number }) => revertEdit(model, editId),
    onSuccess: (data, { model }) => queryClient.setQueryData<VersionsResponse>(versionsKey(model), data),
  });
  return {
    query,
    revert,
    refresh: () => queryClient.invalidateQueries({ queryKey: versionsKey(model) }),
    /** Whether edit `editId` is still applied (unknown while the list loads). */
    isApplied: (editId: number): boolean | undefined => query.data?.edits.some((e) => e.id === editId),
  };
}

export type Versions = ReturnType<typeof useVersions>;

/** The edits applied to the model, oldest first, each with a Revert button; "base model" when none. */
export function VersionHistory({ model, versions }: { model: string | undefined; versions: Versions }) {
  const { query, revert } = versions;
  const edits = query.data?.edits ?? [];
  const reverting = revert.isPending ? revert.variables?.editId : undefined;
  return (
    <section aria-labelledby="versions-title" className={panelClass}>
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h2 id="versions-title" className="text-lg font-medium">
          Version history
        </h2>
        <button type="button" className={secondaryButton} onClick={() => void query.refetch()} disabled={!model || query.isFetching}>
          {query.isFetching ? 'Refreshing…' : 'Refresh'}
        </button>
      </div>
      <p className="mt-1 text-sm text-neutral-600">
        Each edit is stored as weight deltas on top of the base model; reverting one takes out its deltas and keeps the others.
      </p>
      <div aria-live="polite" className="mt-3">
        {query.isPending && model ? (
          <p className="text-sm text-neutral-600">Loading the versions…</p>
        ) : query.error ? (
          <p role="alert" className={errorBox}>
            Could not list the versions: {query.error.message}
          </p>
        ) : edits.length === 0 ? (
          <p className="text-sm text-neutral-800" data-testid="versions-base">
            Base model: no edits applied.
          </p>
        ) : (
          <ol className="space-y-2" data-testid="version-list">
            {edits.map((edit) => {
              const request = edit.requests[0];
              const describe = request
                ? `${request.prompt.replace('{}', request.subject)} → ${request.targetNew.trim()}${request.targetTrue ? ` (was ${request.targetTrue.trim()})` : ''}`
                : 'no requests';
              return (
                <li key={edit.id} className="flex flex-wrap items-center justify-between gap-2 rounded border border-neutral-200 p-2 text-sm" data-testid="version-item">
                  <span>
                    <span className="font-medium">Edit {edit.id}</span> · {edit.method} · <span className="font-mono">{describe}</span>
                    {edit.requests.length > 1 && <> and {edit.requests.length - 1} more</>} ·{' '}
                    <time dateTime={edit.createdAt}>{new Date(edit.createdAt).toLocaleTimeString()}</time>
                  </span>
                  <button
                    type="button"
                    className={secondaryButton}
                    onClick={() => model && revert.mutate({ model, editId: edit.id })}
                    disabled={revert.isPending}
                    aria-label={`Revert edit ${edit.id}`}
                  >
                    {reverting === edit.id ? 'Reverting…' : 'Revert'}
                  </button>
                </li>
              );
            })}
          </ol>
        )}
        {revert.error && (
          <p role="alert" className={`${errorBox} mt-2`} data-testid="revert-error">
            Could not revert: {revert.error.message}
          </p>
        )}
      </div>
    </section>
  );
}
