import { z } from 'zod';
import type { EditableLM } from '../../models/editable';

/**
 * KnowledgeEditor (De Cao, Aziz, Titov 2021, "Editing Factual Knowledge in Language Models",
 * arXiv:2104.08164; nicola-decao/KnowledgeEditor src/models/one_shot_learner.py). Like MEND's, the
 * trained editor file is keyed by `layers`; an editor trained with another architecture is refused.
 */
export const KeHparams = z.object({
  /** Layers whose MLP projections are edited (as MEND here: the last three). */
  layers: z.array(z.number().int().nonnegative()).min(1).refine((l) => new Set(l).size === l.length, { error: 'a layer is listed twice' }),
  projections: z.array(z.enum(['in', 'out'])).min(1).default(['in', 'out']),
  /** Hidden size of the bidirectional LSTM over the request (KE: hidden_dim 128). */
  lstmHidden: z.number().int().positive().default(128),
  /** Width of the condition vector (KE condition_dim 1024). */
  conditionDim: z.number().int().positive().default(1024),
  /** Hidden width of each weight's conditioner MLP (KE hidden_dim 128). */
  hidden: z.number().int().positive().default(128),
  /** Largest update scale: ΔW = maxScale · σ(η) · (∇W ⊙ A + B) (KE max_scale). */
  maxScale: z.number().positive().default(1),
  /** Adam learning rate (KE lr 3e-4). */
  lr: z.number().positive().default(3e-4),
  /** Weight of the locality KL (KE keeps it under a margin with a Lagrange multiplier; here a fixed weight). */
  cloc: z.number().nonnegative().default(1),
  steps: z.number().int().positive().default(1000),
  editsPerStep: z.number().int().positive().default(1),
  checkpointEvery: z.number().int().positive().default(50),
  seed: z.number().int().default(0),
});
export type KeHparams = z.output<typeof KeHparams>;

export const KE_ARCHITECTURE = ['layers', 'projections', 'lstmHidden', 'conditionDim', 'hidden'] as const;

/**
 * The last three layers, both projections. On small models (hidden < 1024) maxScale 100 and lr 1e-3:
 * with KE's max_scale 1 and lr 3e-4 the world model's post-edit NLL did not move in 60 steps
 * (13.2 -> 16.1); with these it fell to 0.94 (ke.test.ts). A = softmax(row)·colᵀ spreads one unit
 * over the weight's rows (1024 of them here), so small updates need a large scale to matter.
 */
export function keDefaults(lm: EditableLM): z.input<typeof KeHparams> {
  const { layers, hidden } = lm.editSpec;
  const n = Math.min(3, layers);
  return { layers: Array.from({ length: n }, (_, i) => layers - n + i), ...(hidden < 1024 ? { maxScale: 100, lr: 1e-3 } : {}) };
}
