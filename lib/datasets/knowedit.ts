/**
 * KnowEdit (Zhang et al. 2024, HF zjunlp/KnowEdit; SCHEMAS.md section 5): ZsRE, wiki_counterfact,
 * wiki_recent share one edit record; WikiBio has its own.
 *
 * Ground truths change shape by file: ZsRE portability -> str and locality -> [str];
 * wiki_counterfact train -> str; wiki_counterfact test and wiki_recent -> [[str]] (one inner list
 * per acceptable answer: the label then its aliases; occasionally [[]]).
 */
import { z } from 'zod';

export const knowEditGroundTruthSchema = z.union([z.string(), z.array(z.string()), z.array(z.array(z.string()))]);

export const knowEditPromptSchema = z.object({
  prompt: z.string(),
  ground_truth: knowEditGroundTruthSchema,
});

const promptList = z.array(knowEditPromptSchema).optional();

/** Any subset of the three portability criteria; may be {}. */
export const knowEditPortabilitySchema = z.object({
  Reasoning: promptList,
  Subject_Aliasing: promptList,
  Logical_Generalization: promptList,
});

export const knowEditLocalitySchema = z.object({
  Relation_Specificity: promptList,
  Forgetfulness: promptList,
});

export const knowEditRecordSchema = z.object({
  subject: z.string(),
  prompt: z.string(),
  target_new: z.string(),
  /** ZsRE: [str]; wiki_counterfact: str; wiki_recent: absent (insertion-style edits). */
  ground_truth: knowEditGroundTruthSchema.optional(),
  /** ZsRE only in the real files. */
  rephrase_prompt: z.string().optional(),
  /** ZsRE only. */
  cond: z.string().optional(),
  portability: knowEditPortabilitySchema,
  locality: knowEditLocalitySchema,
});

export const knowEditWikiBioRecordSchema = z.object({
  /** A Wikipedia-style passage prefix. */
  text: z.string(),
  /** The sentence to be edited in. */
  labels: z.string(),
  /** The entity. */
  concept: z.string(),
  locality: z.object({
    Relation_Specificity: z.array(z.object({ prompt: z.string(), ground_truth: z.array(z.string()) })),
  }),
});

export const knowEditFileSchema = z.array(knowEditRecordSchema);
export const knowEditWikiBioFileSchema = z.array(knowEditWikiBioRecordSchema);

export type KnowEditGroundTruth = z.infer<typeof knowEditGroundTruthSchema>;
export type KnowEditPrompt = z.infer<typeof knowEditPromptSchema>;
export type KnowEditRecord = z.infer<typeof knowEditRecordSchema>;
export type KnowEditWikiBioRecord = z.infer<typeof knowEditWikiBioRecordSchema>;

/** Every acceptable answer string of a KnowEdit ground truth, in file order. */
export function knowEditAnswers(truth: KnowEditGroundTruth): string[] {
  if (typeof truth === 'string') return [truth];
  return truth.flatMap((t: string | string[]) => (typeof t === 'string' ? [t] : t));
}
