/** Class names shared by the studio's forms: one look for inputs and buttons, visible focus everywhere. */

export const inputClass =
  'w-full rounded border border-neutral-300 px-3 py-2 focus:border-sky-600 focus:outline-none focus:ring-2 focus:ring-sky-200 aria-[invalid=true]:border-red-600';

export const labelClass = 'block text-sm font-medium text-neutral-800';

export const hintClass = 'mt-1 text-xs text-neutral-500';

export const primaryButton =
  'rounded bg-sky-700 px-4 py-2 font-medium text-white hover:bg-sky-800 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-300 focus-visible:ring-offset-1 disabled:cursor-not-allowed disabled:bg-neutral-400';

export const secondaryButton =
  'rounded border border-neutral-300 bg-white px-3 py-2 text-sm font-medium text-neutral-800 hover:bg-neutral-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-300 focus-visible:ring-offset-1 disabled:cursor-not-allowed disabled:text-neutral-400';

export const errorBox = 'rounded border border-red-200 bg-red-50 p-3 text-sm text-red-800';

export const panelClass = 'rounded-lg border border-neutral-200 p-4 shadow-sm';
