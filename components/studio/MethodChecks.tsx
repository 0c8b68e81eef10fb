'use client';

import { EDIT_METHODS, editsArchitecture } from './edit-form';

/**
 * One checkbox per editing method (the comparison and the benchmarks' launch form pick several).
 * Given the model's architecture, methods that refuse it are marked (still choosable: the server
 * says why).
 */
export function MethodChecks({ chosen, onChange, architecture }: { chosen: readonly string[]; onChange: (next: string[]) => void; architecture?: string | null }) {
  return (
    <div className="mt-1 flex flex-wrap gap-x-4 gap-y-1">
      {EDIT_METHODS.map((m) => (
        <label key={m.id} className="flex items-center gap-1.5 text-sm text-neutral-800">
          <input
            type="checkbox"
            name="method"
            value={m.id}
            className="h-4 w-4 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-300"
            checked={chosen.includes(m.id)}
            onChange={(e) => onChange(e.target.checked ? [...chosen, m.id] : chosen.filter((x) => x !== m.id))}
          />
          {m.name}
          {!editsArchitecture(m, architecture) && (
            <span className="text-xs text-neutral-500" title={`${m.name} edits decoder-only models only`}>
              (decoder-only)
            </span>
          )}
        </label>
      ))}
    </div>
  );
}
