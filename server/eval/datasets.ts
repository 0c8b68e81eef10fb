/**
 * Editing datasets as evaluation cases: any format lib/datasets detects becomes a list of EvalCase,
 * mapped as EasyEdit's loaders and ROME's evaluation map them:
 * - CounterFact (ROME): requested_rewrite → request; paraphrase_prompts → generality (target_new);
 *   neighborhood_prompts → locality (target_true) and the neighbourhood score; portability
 *   (New Question/New Answer) and alternative_subject (rewrite prompt on the alias, target_new) →
 *   portability;
 * - CounterFact flat (EasyEdit): rephrase_prompt → generality; locality_prompt → locality;
 * - zsRE (MEND layout): src/alt as EasyEdit's ZsreDataset (answers[0] is the ground truth; records
 *   with an empty alt are skipped, as EasyEdit does); rephrase → generality; loc/loc_ans →
 *   locality; portability, alter_subject_question (→ alt) and inverse question (→ subject) →
 *   portability;
 * - KnowEdit: rephrase_prompt → generality; every portability and locality criterion, first answer.
 * Targets get a leading space, as EasyEdit prepends " " to targets before tokenising them apart.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { templateOf, type EditRequest } from '../../lib/editing/request';
import type { EditingDataset, EditingFormat, KnowEditGroundTruth, KnowEditPrompt } from '../../lib/datasets';
import { detectEditingFormat, knowEditAnswers, parseEditingDataset } from '../../lib/datasets';
import type { EvalCase } from '../../lib/eval';

export type { EvalCase } from '../../lib/eval';

export interface LoadedCases {
  format: EditingFormat;
  cases: EvalCase[];
  /** Records that cannot be an edit request, with the reason (index in the file). */
  skipped: { index: number; reason: string }[];
}

/** " Paris" from "Paris": targets follow the prompt in running text. */
export function spaced(target: string): string {
  return target.startsWith(' ') ? target : ` ${target}`;
}

/** Reads a JSON file (an array of records) and converts it; the format is detected. */
export async function loadEvalCases(file: string): Promise<LoadedCases> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  let dataset: EditingDataset;
  try {
    dataset = parseEditingDataset(json);
  } catch (err) {
    if (!(err instanceof z.ZodError)) throw new Error(`${file}: ${(err as Error).message}`);
    const format = Array.isArray(json) ? detectEditingFormat(json[0]) : undefined;
    const issues = err.issues.slice(0, 3).map((i) => `record ${String(i.path[0] ?? '?')}: ${i.path.slice(1).join('.') || '(record)'}: ${i.message}`);
    const more = err.issues.length > 3 ? ` (${err.issues.length} problems in all)` : '';
    throw new Error(`${file}: not a valid ${format ?? 'editing'} file: ${issues.join('; ')}${more}`);
  }
  try {
    return toEvalCases(dataset);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}

export function toEvalCases(dataset: EditingDataset): LoadedCases {
  const cases: EvalCase[] = [];
  const skipped: LoadedCases['skipped'] = [];
  const each = <R>(records: readonly R[], convert: (r: R, index: number) => EvalCase) => {
    records.forEach((record, index) => {
      try {
        cases.push(convert(record, index));
      } catch (err) {
        skipped.push({ index, reason: (err as Error).message });
      }
    });
  };
  switch (dataset.format) {
    case 'counterfact':
      each(dataset.records, (r) => {
        const rw = r.requested_rewrite;
        const request: EditRequest = { prompt: rw.prompt, subject: rw.subject, targetNew: spaced(rw.target_new.str), targetTrue: spaced(rw.target_true.str) };
        const portability = [];
        if (r.portability) portability.push({ prompt: r.portability['New Question'], target: spaced(r.portability['New Answer']) });
        if (r.alternative_subject) portability.push({ prompt: rw.prompt.replace('{}', r.alternative_subject), target: request.targetNew });
        return {
          id: `case ${r.case_id}`,
          request,
          rewritePrompts: [rw.prompt.replace('{}', rw.subject)],
          generality: r.paraphrase_prompts.map((prompt) => ({ prompt, target: request.targetNew })),
          locality: r.neighborhood_prompts.map((prompt) => ({ prompt, groundTruth: request.targetTrue! })),
          portability,
          neighbourhoodPrompts: r.neighborhood_prompts,
        };
      });
      break;
    case 'counterfact-flat':
      each(dataset.records, (r) => {
        const request: EditRequest = { prompt: templateOf(r.prompt, r.subject), subject: r.subject, targetNew: spaced(r.target_new), targetTrue: spaced(r.ground_truth) };
        return {
          id: `case ${r.case_id}`,
          request,
          rewritePrompts: [r.prompt],
          generality: [{ prompt: r.rephrase_prompt, target: request.targetNew }],
          locality: [{ prompt: r.locality_prompt, groundTruth: spaced(r.locality_ground_truth) }],
          portability: [],
          // CounterFact's locality prompt is a neighbour: its true object is the edit's target_true.
          neighbourhoodPrompts: r.locality_ground_truth === r.ground_truth ? [r.locality_prompt] : undefined,
        };
      });
      break;
    case 'zsre':
      each(dataset.records, (r, index) => {
        if (!r.alt) throw new Error('empty alt (EasyEdit skips these)');
        const request: EditRequest = { prompt: templateOf(r.src, r.subject), subject: r.subject, targetNew: spaced(r.alt), targetTrue: r.answers[0] ? spaced(r.answers[0]) : undefined };
        const portability = [];
        if (r.portability) portability.push({ prompt: r.portability['New Question'], target: spaced(r.portability['New Answer']) });
        if (r.alter_subject_question) portability.push({ prompt: r.alter_subject_question, target: request.targetNew });
        if (r['inverse question']) portability.push({ prompt: r['inverse question'], target: spaced(r.subject) });
        return {
          id: `record ${index}`,
          request,
          rewritePrompts: [r.src],
          generality: [{ prompt: r.rephrase, target: request.targetNew }],
          locality: r.loc !== undefined && r.loc_ans !== undefined ? [{ prompt: r.loc, groundTruth: spaced(r.loc_ans) }] : [],
          portability,
        };
      });
      break;
    case 'knowedit':
      each(dataset.records, (r, index) => {
        const truth = r.ground_truth === undefined ? undefined : knowEditAnswers(r.ground_truth)[0];
        const request: EditRequest = { prompt: templateOf(r.prompt, r.subject), subject: r.subject, targetNew: spaced(r.target_new), targetTrue: truth ? spaced(truth) : undefined };
        const probes = (lists: (KnowEditPrompt[] | undefined)[]) =>
          lists.flatMap((list) => list ?? []).flatMap((p) => {
            const answer = firstAnswer(p.ground_truth);
            return answer ? [{ prompt: p.prompt, target: spaced(answer) }] : [];
          });
        return {
          id: `record ${index}`,
          request,
          rewritePrompts: [r.prompt],
          generality: r.rephrase_prompt ? [{ prompt: r.rephrase_prompt, target: request.targetNew }] : [],
          locality: probes([r.locality.Relation_Specificity, r.locality.Forgetfulness]).map(({ prompt, target }) => ({ prompt, groundTruth: target })),
          portability: probes([r.portability.Reasoning, r.portability.Subject_Aliasing, r.portability.Logical_Generalization]),
        };
      });
      break;
    case 'knowedit-wikibio':
      throw new Error('KnowEdit WikiBio records (text/labels/concept) have no subject-in-prompt edit request; evaluate them with a generation-based method');
  }
  return { format: dataset.format, cases, skipped };
}

/** The first acceptable answer of a KnowEdit ground truth (label before aliases); none for [[]]. */
function firstAnswer(truth: KnowEditGroundTruth): string | undefined {
  return knowEditAnswers(truth).find((a) => a.length > 0);
}
