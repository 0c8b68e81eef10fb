/** The benchmarks page's launch form as evaluation jobs: one per method and batch size. */
import type { JobStart } from '@/lib/api/job-client';
import { EVAL_CASES_MAX, type EvalJobInput } from '@/lib/api/jobs';
import { EDIT_METHODS, TEMPLATED_METHODS } from '../studio/edit-form';

export type EvalField = 'methods' | 'dataset' | 'n' | 'batchSizes' | 'checkpoints';

export interface EvalForm {
  methods: string[];
  dataset: string;
  /** As typed. */
  n: string;
  mode: EvalJobInput['mode'];
  /** Batch mode: "1, 10, 100" runs one job per size (the batch-size curve). */
  batchSizes: string;
  /** Sequential mode: "1, 10, 100". */
  checkpoints: string;
  useContextTemplates: boolean;
}

export type BuiltEvals = { ok: true; inputs: JobStart[] } | { ok: false; field: EvalField; message: string };

/** "1, 10,100" -> [1, 10, 100]; a message for anything that is not a positive integer. */
export function parseCounts(text: string, what: string): number[] | string {
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const values = parts.map(Number);
  const bad = parts.find((p, i) => !Number.isInteger(values[i]) || values[i]! < 1);
  if (bad !== undefined) return `${what}: “${bad}” is not a positive whole number.`;
  return [...new Set(values)].sort((a, b) => a - b);
}

/** `available`: the chosen dataset's number of cases, when known. */
export function buildEvalJobs(model: string, form: EvalForm, available?: number): BuiltEvals {
  const methods = EDIT_METHODS.filter((m) => form.methods.includes(m.id));
  if (!methods.length) return { ok: false, field: 'methods', message: 'Choose at least one method.' };
  if (!form.dataset) return { ok: false, field: 'dataset', message: 'Choose a dataset.' };
  const n = Number(form.n);
  const limit = Math.min(EVAL_CASES_MAX, available ?? EVAL_CASES_MAX);
  if (!Number.isInteger(n) || n < 1 || n > limit) return { ok: false, field: 'n', message: `Cases: a whole number from 1 to ${limit}.` };

  let sizes: (number | undefined)[] = [undefined];
  if (form.mode === 'batch') {
    const parsed = parseCounts(form.batchSizes, 'Batch sizes');
    if (typeof parsed === 'string') return { ok: false, field: 'batchSizes', message: parsed };
    if (!parsed.length) return { ok: false, field: 'batchSizes', message: 'Batch sizes: give at least one, such as 1, 10, 100.' };
    if (parsed.some((s) => s > n)) return { ok: false, field: 'batchSizes', message: `Batch sizes: none can be larger than the ${n} cases.` };
    sizes = parsed;
  }
  let checkpoints: number[] | undefined;
  if (form.mode === 'sequential') {
    const parsed = parseCounts(form.checkpoints, 'Checkpoints');
    if (typeof parsed === 'string') return { ok: false, field: 'checkpoints', message: parsed };
    checkpoints = parsed.filter((c) => c < n);
  }
  const lonely = methods.find((m) => !m.batchable && sizes.some((s) => s !== undefined && s > 1));
  if (lonely) return { ok: false, field: 'batchSizes', message: `${lonely.name} edits one fact per call: batches larger than 1 need MEMIT, FT-L or FT-M.` };

  const inputs: JobStart[] = [];
  for (const m of methods) {
    for (const batchSize of sizes) {
      inputs.push({
        kind: 'eval',
        model,
        method: m.id,
        dataset: form.dataset,
        n,
        mode: form.mode,
        ...(batchSize === undefined ? {} : { batchSize }),
        ...(checkpoints ? { checkpoints } : {}),
        hparams: TEMPLATED_METHODS.includes(m.id) && !form.useContextTemplates ? { useContextTemplates: false } : {},
      });
    }
  }
  return { ok: true, inputs };
}
