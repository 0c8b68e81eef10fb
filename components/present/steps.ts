/** The steps of a talk's demo, in order, and the key of each (pure: tested without a browser). */
export type Step = 'fact' | 'trace' | 'edit' | 'compare' | 'revert';

export const STEPS: readonly { id: Exclude<Step, 'fact'>; key: string; label: string }[] = [
  { id: 'trace', key: 't', label: 'trace' },
  { id: 'edit', key: 'e', label: 'edit (ROME)' },
  { id: 'compare', key: 'b', label: 'before / after' },
  { id: 'revert', key: 'r', label: 'revert' },
];

export const STEP_KEYS: Readonly<Record<string, Step>> = Object.fromEntries(STEPS.map((s) => [s.key, s.id]));

/** The step Space runs after `step`; null after the revert (Space then moves to the next fact). */
export function nextStep(step: Step): Step | null {
  const order: Step[] = ['fact', ...STEPS.map((s) => s.id)];
  return order[order.indexOf(step) + 1] ?? null;
}
