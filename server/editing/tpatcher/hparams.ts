import { z } from 'zod';
import type { EditableLM } from '../../models/editable';

/**
 * T-Patcher's hyper-parameters (Huang et al. 2023, "Transformer-Patcher: One Mistake Worth One
 * Neuron"; ZeroYuHuang/Transformer-Patcher src/utils.py patch_related_args and main.py, its zsRE
 * settings). Margins are on the patch's pre-activation a = k·x + b.
 */
export const TPatcherHparams = z.object({
  /** The FFN the patches sit beside: the last one (the paper's choice). */
  layer: z.number().int().nonnegative(),
  /** At most this many patch neurons per edit, one per mistaken target token (max_add_neuron_num). */
  maxPatches: z.number().int().positive().default(5),
  /** The patch's activation: the FFN's own (GELU; ReLU for gated Llama MLPs, which have no one-key neuron, and for T5: v1.0's FFN is ReLU, v1.1's gated). */
  activation: z.enum(['relu', 'gelu']).default('gelu'),
  /** Adam learning rate (lr). */
  lr: z.number().positive().default(1e-2),
  /** Training steps at most (the reference's max_edit_step is 2000 epochs of one example). */
  maxSteps: z.number().int().positive().default(2000),
  /** The value vector is valueScale · v' (the reference's amplify_v with amplify_con 10). */
  valueScale: z.number().positive().default(10),
  /** Weight of the activation loss (alc) and of the memory loss (mlc: 10 for zsRE, 5 for FEVER). */
  actLossWeight: z.number().nonnegative().default(1),
  memoryLossWeight: z.number().nonnegative().default(10),
  /** Activation loss exp(actMargin − a) at the patch's own position (act_margin_val). */
  actMargin: z.number().default(0),
  /** Memory loss: exp(a_mem − a + margin1) (a fires this much above memories) and exp(a_mem − margin2) (memories stay below margin2). */
  memoryMargin1: z.number().default(3),
  memoryMargin2: z.number().default(-3),
  /** Mean over the top k terms of each memory loss (top1000_exp+top1000_exp). */
  memoryTopK: z.number().int().positive().default(1000),
  /** Tokens of unrelated text whose FFN inputs form the memory (the reference keeps up to 40,000). */
  memoryTokens: z.number().int().positive().default(2000),
  /** Training stops once every target token is the argmax and the activation loss is below this (act_loss_thd). */
  actLossThreshold: z.number().positive().default(0.1),
});
export type TPatcherHparams = z.output<typeof TPatcherHparams>;

export function tpatcherDefaults(lm: EditableLM): z.input<typeof TPatcherHparams> {
  const { layers, family } = lm.editSpec;
  return { layer: layers - 1, activation: family === 'llama' || family === 't5' ? 'relu' : 'gelu' };
}
