/** The edit panel's form as a job input: checks done in the browser, before anything is sent. */
import { z } from 'zod';
import type { JobStart } from '@/lib/api/job-client';
import { COMPARE_METHODS_MAX, EditProbes } from '@/lib/api/jobs';
import { templateOf } from '@/lib/editing/request';

/**
 * The methods the studio offers; `batchable`: edits several facts in one call (server/editing
 * Editor.batchable); `decoderOnly`: refuses encoder-decoder models (T5) with its reason
 * (server/models/editable.ts decoderOnly; server/backend/routes-t5.test.ts checks the two agree).
 */
export const EDIT_METHODS = [
  { id: 'rome', name: 'ROME', label: 'ROME: rank-one update of one MLP', batchable: false, decoderOnly: true },
  { id: 'memit', name: 'MEMIT', label: 'MEMIT: updates spread over several MLPs', batchable: true, decoderOnly: true },
  { id: 'ft-l', name: 'FT-L', label: 'FT-L: constrained fine-tuning of one MLP', batchable: true, decoderOnly: false },
  { id: 'ft-m', name: 'FT-M', label: 'FT-M: fine-tuning on the target tokens only', batchable: true, decoderOnly: false },
  { id: 'kn', name: 'KN', label: 'KN: knowledge neurons', batchable: false, decoderOnly: false },
  { id: 'tpatcher', name: 'T-Patcher', label: 'T-Patcher: one trained patch neuron per mistake, beside the last MLP', batchable: true, decoderOnly: false },
  { id: 'calinet', name: 'CaliNET', label: 'CaliNET: trained calibration slots beside the last MLPs', batchable: true, decoderOnly: false },
  { id: 'mend', name: 'MEND', label: 'MEND: trained editor networks (train first)', batchable: true, decoderOnly: false },
  { id: 'ke', name: 'KE', label: 'KE: trained hyper-network (train first)', batchable: false, decoderOnly: false },
  { id: 'serac', name: 'SERAC', label: 'SERAC: edit memory, scope classifier and counterfactual model (train first)', batchable: true, decoderOnly: false },
] as const;

/** Whether a method edits models of this architecture (unknown architecture: assume it does; the server decides). */
export function editsArchitecture(method: (typeof EDIT_METHODS)[number], architecture: string | null | undefined): boolean {
  return !(method.decoderOnly && architecture === 'encoder-decoder');
}

/** The methods a fresh comparison starts with: three of these that edit this architecture. */
export function defaultCompareMethods(architecture: string | null | undefined): string[] {
  const preferred = ['rome', 'memit', 'ft-m', 'tpatcher', 'calinet'];
  return EDIT_METHODS.filter((m) => preferred.includes(m.id) && editsArchitecture(m, architecture))
    .map((m) => m.id)
    .slice(0, 3);
}

/** The method a fresh edit form starts with: ROME, or the first one that edits this architecture. */
export function defaultMethod(architecture: string | null | undefined): string {
  return (EDIT_METHODS.find((m) => editsArchitecture(m, architecture)) ?? EDIT_METHODS[0]).id;
}
export type EditMethod = (typeof EDIT_METHODS)[number]['id'];

/** Methods whose key/value estimates average over generated context prefixes (`useContextTemplates`). */
export const TEMPLATED_METHODS: readonly string[] = ['rome', 'memit'];

/** Probe lines each box takes at most (lib/api/jobs.ts EditProbes). */
export const PROBES_MAX = 20;

export type EditField = 'subject' | 'targetNew' | 'hparams' | 'paraphrases' | 'neighbours' | 'portability';

export interface EditForm {
  method: string;
  /** As typed: without its leading space. */
  targetNew: string;
  hparams: string;
  useContextTemplates: boolean;
  /** One prompt per line. */
  paraphrases: string;
  /** One "prompt | answer" per line. */
  neighbours: string;
  portability: string;
}

export interface EditFact {
  model: string;
  /** The prompt with the subject in it, as the fact box holds it. */
  prompt: string;
  subject: string;
  /** The answer the model gives now, typed without its leading space (optional). */
  targetTrue?: string;
}

export type Built = { ok: true; input: JobStart } | { ok: false; field: EditField; message: string };

/** Why the subject cannot be used with the prompt, or null when it can. */
export function subjectProblem(prompt: string, subject: string): string | null {
  if (!subject.trim()) return 'Enter the subject: the words of the prompt the fact is about.';
  if (!prompt.includes(subject)) return `The subject “${subject}” does not occur in the prompt.`;
  return null;
}

/** " Paris" from "Paris" or " Paris": targets follow the prompt after a space. */
export function asTarget(text: string): string {
  const trimmed = text.trim();
  return trimmed ? ` ${trimmed}` : '';
}

const lines = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

/** "prompt | answer" lines as probes; the message names the first bad line. */
export function parsePairs(text: string, what: string): { prompt: string; target: string }[] | string {
  const pairs: { prompt: string; target: string }[] = [];
  for (const [i, line] of lines(text).entries()) {
    const bar = line.lastIndexOf('|');
    const prompt = bar < 0 ? '' : line.slice(0, bar).trim();
    const answer = bar < 0 ? '' : line.slice(bar + 1).trim();
    if (!prompt || !answer) return `${what}, line ${i + 1}: write the prompt, a “|”, then the answer (“The capital of France is | Paris”).`;
    pairs.push({ prompt, target: asTarget(answer) });
  }
  return pairs;
}

export function parseHparams(text: string): Record<string, unknown> | string {
  if (!text.trim()) return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return `Hyper-parameters are not valid JSON: ${(error as Error).message}`;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return 'Hyper-parameters must be a JSON object, such as {"layer": 1}.';
  return json as Record<string, unknown>;
}

export function buildEditJob(fact: EditFact, form: EditForm): Built {
  const problem = subjectProblem(fact.prompt, fact.subject);
  if (problem) return { ok: false, field: 'subject', message: problem };
  const targetNew = asTarget(form.targetNew);
  if (!targetNew) return { ok: false, field: 'targetNew', message: 'Enter the new target: the answer the model should give after the edit.' };
  const given = parseHparams(form.hparams);
  if (typeof given === 'string') return { ok: false, field: 'hparams', message: given };
  // The JSON, when it names useContextTemplates, wins over the checkbox.
  const hparams = TEMPLATED_METHODS.includes(form.method) && !form.useContextTemplates ? { useContextTemplates: false, ...given } : given;

  const paraphrases = lines(form.paraphrases);
  const neighborhood = parsePairs(form.neighbours, 'Neighbourhood');
  if (typeof neighborhood === 'string') return { ok: false, field: 'neighbours', message: neighborhood };
  const portability = parsePairs(form.portability, 'Portability');
  if (typeof portability === 'string') return { ok: false, field: 'portability', message: portability };
  const probes = EditProbes.safeParse({ paraphrases, neighborhood, portability });
  if (!probes.success) {
    const key = String(probes.error.issues[0]?.path[0] ?? 'paraphrases');
    const field: EditField = key === 'neighborhood' ? 'neighbours' : key === 'portability' ? 'portability' : 'paraphrases';
    return { ok: false, field, message: `At most ${PROBES_MAX} lines in each probe box.` };
  }
  const targetTrue = fact.targetTrue ? asTarget(fact.targetTrue) : '';
  return {
    ok: true,
    input: {
      kind: 'edit',
      model: fact.model,
      method: form.method,
      request: { prompt: templateOf(fact.prompt, fact.subject), subject: fact.subject, targetNew, ...(targetTrue ? { targetTrue } : {}) },
      hparams,
      probes: probes.data,
    },
  };
}

/**
 * A comparison of `methods` on the edit panel's fact, target and probes. Each method runs with its
 * defaults for the model (the JSON box belongs to the single edit); the context-template checkbox
 * applies to the methods that use templates.
 */
export function buildCompareJob(fact: EditFact, form: EditForm, methods: readonly string[]): Built | { ok: false; field: 'methods'; message: string } {
  if (methods.length < 2) return { ok: false, field: 'methods', message: 'Choose at least two methods to compare.' };
  if (methods.length > COMPARE_METHODS_MAX) return { ok: false, field: 'methods', message: `Compare at most ${COMPARE_METHODS_MAX} methods at once.` };
  const built = buildEditJob(fact, { ...form, hparams: '' });
  if (!built.ok || built.input.kind !== 'edit') return built;
  const { model, request, probes } = built.input;
  const hparams = form.useContextTemplates ? {} : Object.fromEntries(methods.filter((m) => TEMPLATED_METHODS.includes(m)).map((m) => [m, { useContextTemplates: false }]));
  return { ok: true, input: { kind: 'compare', model, methods: [...methods], request, hparams, probes } };
}

/** An editor's progress event (server/editing/editor.ts EditProgress), as it arrives over SSE. */
export const EditProgressSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('stage'), stage: z.string(), detail: z.string().optional() }),
  z.object({ type: z.literal('step'), request: z.number(), step: z.number(), loss: z.number(), terms: z.record(z.string(), z.number()) }),
  z.object({ type: z.literal('stats'), layer: z.number(), tokens: z.number(), total: z.number() }),
]);
export type EditProgress = z.infer<typeof EditProgressSchema>;
