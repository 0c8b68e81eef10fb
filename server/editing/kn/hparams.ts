import { z } from 'zod';

/**
 * Knowledge neurons (Dai et al. 2022; EleutherAI/knowledge-neurons, EasyEdit easyeditor/models/kn,
 * hparams/KN/*.yaml).
 */
export const KnHparams = z.object({
  /** Layers whose MLP neurons are attributed; empty: every layer (the reference's default). */
  layers: z.array(z.number().int().nonnegative()).default([]),
  /** Integrated-gradient steps: the activation is scaled by k / steps, k = 0..steps−1. */
  steps: z.number().int().positive().default(20),
  /** Per prompt, keep neurons whose attribution exceeds this share of the maximum (adaptive_threshold). */
  adaptiveThreshold: z.number().positive().max(1).default(0.2),
  /** Keep neurons found in at least this share of the request's prompts (refinement p). */
  refineThreshold: z.number().positive().max(1).default(0.5),
  /**
   * The prompts attributed: the request's prompt alone (EasyEdit) or also inside the model-sampled
   * context templates (several prompts of one fact, which makes the refinement meaningful).
   */
  useContextTemplates: z.boolean().default(false),
  /** W_out rows of the neurons get scale · (e_new − e_old) (the reference's ×2). */
  editScale: z.number().positive().default(2),
});
export type KnHparams = z.output<typeof KnHparams>;

/** The reference's defaults fit every model: KN attributes all layers. */
export function knDefaults(): z.input<typeof KnHparams> {
  return {};
}
