import { z } from 'zod';
import type { EditableLM } from '../../models/editable';
import { romeDefaults } from '../rome/hparams';

/**
 * Constrained fine-tuning (Zhu et al. 2020, as ROME's baseline "FT-L" and EasyEdit's FT-L / FT-M;
 * zjunlp/EasyEdit easyeditor/models/ft, hparams/FT/*.yaml).
 */
export const FtHparams = z.object({
  /** The layer whose MLP down/out projection is fine-tuned (EasyEdit: one layer). */
  layer: z.number().int().nonnegative(),
  /** Adam steps over the whole batch of requests (EasyEdit num_steps). */
  numSteps: z.number().int().positive().default(25),
  /** Adam learning rate (EasyEdit lr). */
  lr: z.number().positive().default(5e-4),
  /** Adam L2 weight decay (EasyEdit weight_decay). */
  weightDecay: z.number().nonnegative().default(0),
  /**
   * L∞ constraint ||W − W₀||∞ ≤ ε applied after each step (EasyEdit norm_constraint); null:
   * unconstrained fine-tuning, the "FT" row of the seed paper.
   */
  normConstraint: z.number().positive().nullable().default(5e-4),
  /**
   * What the loss reads (EasyEdit objective_optimization):
   *   prompt_last: FT-L. The prompt alone is run; every target token's log-probability is read at
   *                the prompt's last position (a bag of target tokens at one position).
   *   target_new:  FT-M. Prompt + target, teacher-forced; NLL over the target tokens only (prompt
   *                positions masked).
   */
  objective: z.enum(['prompt_last', 'target_new']).default('prompt_last'),
  /** Stop once the loss is below this (EasyEdit: 1e-2). */
  earlyStopLoss: z.number().nonnegative().default(1e-2),
});
export type FtHparams = z.output<typeof FtHparams>;

/** FT edits ROME's layer (METHODS.md: "fine-tune W_out of the ROME layer"). */
export function ftDefaults(lm: EditableLM, objective: FtHparams['objective']): z.input<typeof FtHparams> {
  return { layer: romeDefaults(lm).layer, objective };
}
