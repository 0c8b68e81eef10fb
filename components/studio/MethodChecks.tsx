'use client';

import { EDIT_METHODS } from './edit-form';

/** One checkbox per editing method (the comparison and the benchmarks' launch form pick several). */
export function MethodChecks({ chosen, onChange }: { chosen: readonly string[]; onChange: (next: string[]) => void }) {
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
        </label>
      ))}
    </div>
  );
}
