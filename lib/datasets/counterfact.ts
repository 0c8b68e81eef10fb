/**
 * CounterFact in the two layouts knowledge-editing code reads (see ../shared/data/editing/SCHEMAS.md
 * sections 1, 2 and 4):
 * - the ROME/MEMIT record (`counterfact.json`, `multi_counterfact.json`) with `requested_rewrite`,
 *   plus the extension keys of the EasyEdit portability files (one-hop `portability`, subject-replace
 *   `alternative_subject`, other-attribution `unrelated_relation` / `distracting_neighborhood_prompts`);
 * - EasyEdit's flat record (`counterfact-edit.json`, `-train`, `-val`).
 * Objects are not strict: unknown keys are dropped, so a loader survives a file with extra fields.
 */
import { z } from 'zod';

export const counterFactTargetSchema = z.object({
  str: z.string(),
  /** A Wikidata QID in the real files ("Q84"); an entity id ("W17") in the world's files. */
  id: z.string(),
});

export const requestedRewriteSchema = z.object({
  /** Template with "{}" where the subject goes, e.g. "{} originates from". */
  prompt: z.string().refine((p) => p.includes('{}'), { message: 'prompt must contain "{}" for the subject' }),
  relation_id: z.string(),
  target_new: counterFactTargetSchema,
  target_true: counterFactTargetSchema,
  subject: z.string(),
});

/** The one-hop portability question of Yao et al. 2023, as both zsRE and CounterFact files store it. */
export const oneHopPortabilitySchema = z.object({
  /** "(head, relation, tail)": the fact recalled on top of the edit. */
  'Recalled Relation': z.string(),
  'New Question': z.string(),
  'New Answer': z.string(),
});

export const unrelatedRelationSchema = z.object({
  relation_id: z.string(),
  object: z.string(),
  question: z.string(),
});

export const counterFactRecordSchema = z.object({
  case_id: z.number().int(),
  pararel_idx: z.number().int(),
  requested_rewrite: requestedRewriteSchema,
  /** Generalisation: random prefix text + a rephrasing of the fact. */
  paraphrase_prompts: z.array(z.string()),
  /** Locality: other subjects, same relation, whose true object is target_true. */
  neighborhood_prompts: z.array(z.string()),
  /** Other subjects whose true object is target_new. */
  attribute_prompts: z.array(z.string()),
  /** Open-ended generation prompts (duplicates are intentional). */
  generation_prompts: z.array(z.string()),
  portability: oneHopPortabilitySchema.optional(),
  alternative_subject: z.string().optional(),
  unrelated_relation: unrelatedRelationSchema.optional(),
  distracting_neighborhood_prompts: z.array(z.string()).optional(),
});

export const counterFactFlatRecordSchema = z.object({
  case_id: z.number().int(),
  /** The filled-in prompt (no "{}"). */
  prompt: z.string(),
  target_new: z.string(),
  subject: z.string(),
  ground_truth: z.string(),
  rephrase_prompt: z.string(),
  locality_prompt: z.string(),
  locality_ground_truth: z.string(),
});

export const counterFactFileSchema = z.array(counterFactRecordSchema);
export const counterFactFlatFileSchema = z.array(counterFactFlatRecordSchema);

export type CounterFactTarget = z.infer<typeof counterFactTargetSchema>;
export type RequestedRewrite = z.infer<typeof requestedRewriteSchema>;
export type OneHopPortability = z.infer<typeof oneHopPortabilitySchema>;
export type CounterFactRecord = z.infer<typeof counterFactRecordSchema>;
export type CounterFactFlatRecord = z.infer<typeof counterFactFlatRecordSchema>;
