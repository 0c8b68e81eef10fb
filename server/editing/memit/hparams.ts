import { z } from 'zod';
import type { EditableLM } from '../../models/editable';
import { romeDefaults } from '../rome/hparams';

/** MEMIT's hyper-parameters (Meng et al. 2023; kmeng01/memit hparams/MEMIT/*.json). */
export const MemitHparams = z.object({
  /** The layers whose MLP down/out projections are rewritten, in order; z is set at the last. */
  layers: z.array(z.number().int().nonnegative()).min(1),
  /** Optimisation of the target residual z at the last layer (ROME's step 3 there). */
  vNumGradSteps: z.number().int().positive().default(25),
  vLr: z.number().positive().default(0.5),
  vWeightDecay: z.number().nonnegative().default(0.5),
  /** ||δ|| ≤ clampNormFactor · ||v_init|| (MEMIT: 0.75, tighter than ROME's 4). */
  clampNormFactor: z.number().positive().default(0.75),
  klFactor: z.number().nonnegative().default(0.0625),
  earlyStopLoss: z.number().nonnegative().default(0.05),
  /**
   * λ in ΔW = R Kᵀ (λ C + K Kᵀ)⁻¹ (mom2_update_weight): how much the keys of other text resist the
   * change. 15000 on GPT-J, 20000 on GPT-2 XL.
   */
  mom2UpdateWeight: z.number().nonnegative().default(15000),
  /** As ROME's: where keys are read and z written. */
  factToken: z.enum(['subject_last', 'last']).default('subject_last'),
  useContextTemplates: z.boolean().default(true),
});
export type MemitHparams = z.output<typeof MemitHparams>;

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/**
 * GPT-2 XL: layers 13-17, λ 20000; GPT-J: layers 3-8, λ 15000 (the paper's). Otherwise the three
 * layers ending at ROME's default layer, with λ = 1000 and clampNormFactor 4: measured on the
 * 6-layer world model (layers [0, 1, 2], factToken 'last'), where λ = 15000 leaves most edits
 * undone (3/10) and clamp 0.75 cannot reach the target (6/10); see README.
 */
export function memitDefaults(lm: EditableLM): z.input<typeof MemitHparams> {
  const { layers, family } = lm.editSpec;
  if (family === 'gpt2' && layers === 48) return { layers: range(13, 17), mom2UpdateWeight: 20000 };
  if (family === 'gptj' && layers === 28) return { layers: range(3, 8), mom2UpdateWeight: 15000 };
  const last = Math.max(romeDefaults(lm).layer, 2);
  return { layers: range(last - 2, last), mom2UpdateWeight: 1000, clampNormFactor: 4 };
}
