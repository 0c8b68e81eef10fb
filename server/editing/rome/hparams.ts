import { z } from 'zod';
import type { EditableLM } from '../../models/editable';

/** ROME's hyper-parameters (Meng et al. 2022; kmeng01/rome hparams/ROME/*.json). */
export const RomeHparams = z.object({
  /** The layer whose MLP down/out projection is rewritten. */
  layer: z.number().int().nonnegative(),
  /** Optimisation of the value v*: steps, Adam learning rate. */
  vNumGradSteps: z.number().int().positive().default(20),
  vLr: z.number().positive().default(0.5),
  /** Penalty on ||δ|| relative to ||v_init||² (ROME's v_weight_decay). */
  vWeightDecay: z.number().nonnegative().default(0.5),
  /** ||δ|| is clamped to this multiple of ||v_init|| after each step. */
  clampNormFactor: z.number().positive().default(4),
  /** Weight of KL(p_orig || p_new) on "{subject} is a", which keeps the subject's other facts. */
  klFactor: z.number().nonnegative().default(0.0625),
  /** Stop optimising once the loss is below this (ROME: 5e-2). */
  earlyStopLoss: z.number().nonnegative().default(0.05),
  /**
   * Where the fact is read and written: the subject's last token (ROME's default, where GPT-style
   * models enrich the subject) or the prompt's last token (ROME's "last" strategy, for models that
   * look facts up at the final position: a causal trace tells which).
   */
  factToken: z.enum(['subject_last', 'last']).default('subject_last'),
  /** Average keys and values over model-sampled context templates (false: the bare prompt only). */
  useContextTemplates: z.boolean().default(true),
  /**
   * Which prompts k* is averaged over: the context templates (ROME), or the bare prompt alone while v*
   * is still optimised over every template. With factToken 'last' the key depends on the context
   * before the prompt, and the averaged key misses the bare prompt's (world model: see README).
   */
  keyContexts: z.enum(['templates', 'prompt']).default('templates'),
});
export type RomeHparams = z.output<typeof RomeHparams>;

/**
 * Defaults per model: ROME edits an early-middle layer (GPT-2 XL: 17 of 48; GPT-J: 5 of 28). For
 * other models we start at a quarter of the depth; the studio proposes the causal trace's peak.
 */
export function romeDefaults(lm: EditableLM): z.input<typeof RomeHparams> {
  const { layers, family } = lm.editSpec;
  if (family === 'gpt2' && layers === 48) return { layer: 17 };
  if (family === 'gptj' && layers === 28) return { layer: 5 };
  return { layer: Math.max(0, Math.round(layers * 0.25)) };
}
