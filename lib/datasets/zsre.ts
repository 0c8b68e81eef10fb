/**
 * zsRE in MEND's layout (`zsre_mend_eval.json`, `zsre_mend_train.json`; SCHEMAS.md sections 3-4),
 * with the EasyEdit portability extensions: one-hop `portability`, subject-replace
 * `alternative_subject` + `alter_subject_question`, inverse-relation `inverse question` (with a space).
 *
 * Loaders disagree on the mapping: EasyEdit's ZsreDataset edits to `alt` with ground truth
 * `answers[0]`; ROME/MEMIT's MENDQADataset edits to `answers[0]`. `pred` is the original MEND base
 * model's prediction, not gold.
 */
import { z } from 'zod';
import { oneHopPortabilitySchema } from './counterfact';

export const zsreRecordSchema = z
  .object({
    subject: z.string(),
    /** The question (edit prompt). */
    src: z.string(),
    pred: z.string(),
    /** A paraphrased question (generality). */
    rephrase: z.string(),
    /** The alternative answer EasyEdit uses as target_new; may be "" (EasyEdit skips those). */
    alt: z.string(),
    answers: z.array(z.string()),
    /** "nq question: ..." locality prompt; absent in the subject-replace and inverse-relation files. */
    loc: z.string().optional(),
    loc_ans: z.string().optional(),
    /** "<pred> >> <alt> || <src>", the conditioning string of MEND/SERAC. */
    cond: z.string(),
    portability: oneHopPortabilitySchema.optional(),
    alternative_subject: z.string().optional(),
    alter_subject_question: z.string().optional(),
    'inverse question': z.string().optional(),
  })
  .refine((r) => (r.loc === undefined) === (r.loc_ans === undefined), {
    message: 'loc and loc_ans come together',
  });

export const zsreFileSchema = z.array(zsreRecordSchema);

export type ZsreRecord = z.infer<typeof zsreRecordSchema>;
