import { z } from 'zod';
import type { EditableLM } from '../../models/editable';

/**
 * CaliNET's hyper-parameters (Dong et al. 2022, "Calibrating Factual Knowledge in Pretrained
 * Language Models"; dqxiu/CaliNet train_calinet/bash/t5_train_kb_f.sh and qa_finetune/nkb_t5.py:
 * ex_size 64, lr 1e-2, ReLU slots without bias beside the FFN of the chosen layers).
 */
export const CaliNetHparams = z.object({
  /** The FFNs that get calibration slots: the last two (METHODS.md; the reference's kb_layer). */
  layers: z.array(z.number().int().nonnegative()).min(1),
  /** Slots per layer (ex_size). */
  slots: z.number().int().positive().default(64),
  /** Adam learning rate (the reference: Adafactor at 1e-2, constant schedule). */
  lr: z.number().positive().default(1e-2),
  /** Training steps at most. */
  maxSteps: z.number().int().positive().default(100),
  /** Stop once the target NLL is below this (as FT: 1e-2). */
  earlyStopLoss: z.number().nonnegative().default(1e-2),
  /** L2 weight decay of the slots (0: none, as the reference). */
  weightDecay: z.number().nonnegative().default(0),
  /** Seed of the keys' initialisation. */
  seed: z.number().int().default(0),
});
export type CaliNetHparams = z.output<typeof CaliNetHparams>;

export function calinetDefaults(lm: EditableLM): z.input<typeof CaliNetHparams> {
  const { layers } = lm.editSpec;
  return { layers: layers >= 2 ? [layers - 2, layers - 1] : [0] };
}
