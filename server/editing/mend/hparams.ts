import { z } from 'zod';
import type { EditableLM } from '../../models/editable';

/**
 * MEND (Mitchell et al. 2022, "Fast Model Editing at Scale", arXiv:2110.11309; eric-mitchell/mend,
 * config/alg/mend.yaml and algs/mend.py). The editor's architecture and its training both live
 * here: the trained editor file is keyed by `layers`, and an editor trained with other settings
 * of the architecture (rank, nHidden, projections) is refused when it is loaded.
 */
export const MendHparams = z.object({
  /** Layers whose MLP projections are edited (MEND: the last three). */
  layers: z.array(z.number().int().nonnegative()).min(1).refine((l) => new Set(l).size === l.length, { error: 'a layer is listed twice' }),
  /** Which projections of each layer: the up/in one (GPT-2 c_fc) and the down/out one (c_proj). */
  projections: z.array(z.enum(['in', 'out'])).min(1).default(['in', 'out']),
  /**
   * Rank of each low-rank residual layer of the editor MLP (MEND rank 1920, capped at the input
   * width u ⊕ δ). The world model's width is 1280: full rank would be 13M editor parameters for a
   * 5.8M-parameter model, so smaller models default lower (mendDefaults).
   */
  rank: z.number().int().positive().default(1920),
  /** Hidden residual layers of the editor MLP (MEND n_hidden 1: two low-rank layers in all). */
  nHidden: z.number().int().nonnegative().default(1),
  /** Initial per-weight edit step α, learned (MEND edit_lr 1e-4); W' = W − α · ΔW̃. */
  editLr: z.number().positive().default(1e-4),
  /** Adam learning rate of the editor networks (MEND lr 1e-6 for billion-parameter models). */
  lr: z.number().positive().default(1e-4),
  /** Adam learning rate of the per-weight α (MEND lr_lr 1e-4). */
  lrLr: z.number().positive().default(1e-4),
  /** Weight of the post-edit NLL in the meta-loss (MEND cedit 0.1). */
  cedit: z.number().nonnegative().default(0.1),
  /** Weight of the locality KL in the meta-loss (MEND cloc 1.0). */
  cloc: z.number().nonnegative().default(1),
  /**
   * Training steps (one meta-batch each). On the world model (lr 1e-5, one edit per step) 300 steps
   * gave zsRE-format test reliability / generality / locality 98.0 / 94.3 / 96.0 and 1000 steps
   * 49.8 / 39.5 / 97.0 (one seed each; on CounterFact the 300-step editor's locality is 47: see
   * bench/BENCHMARKS.md): longer is not better on the training format, so 300.
   */
  steps: z.number().int().positive().default(300),
  /** Edits per training step (their gradients are summed into one ΔW, as at test time for a batch). */
  editsPerStep: z.number().int().positive().default(1),
  /** Steps between checkpoints written while training (resume starts at the last one). */
  checkpointEvery: z.number().int().positive().default(50),
  /** Seed of the editor's initial weights and of the order of training records. */
  seed: z.number().int().default(0),
});
export type MendHparams = z.output<typeof MendHparams>;

/** The hyper-parameters that shape the trained editor: an editor trained with others cannot be loaded. */
export const MEND_ARCHITECTURE = ['layers', 'projections', 'rank', 'nHidden'] as const;

/** The last three layers, both projections (MEND's choice for GPT-2 style models); a lower rank for small models. */
export function mendDefaults(lm: EditableLM): z.input<typeof MendHparams> {
  const { layers, hidden } = lm.editSpec;
  const last = Array.from({ length: Math.min(3, layers) }, (_, i) => layers - Math.min(3, layers) + i);
  return { layers: last, rank: hidden < 1024 ? 256 : 1920, lr: hidden < 1024 ? 1e-5 : 1e-6 };
}
