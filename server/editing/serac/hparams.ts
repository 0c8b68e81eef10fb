import { z } from 'zod';
import { modelShape } from '../../models/describe';
import type { EditableLM } from '../../models/editable';

/**
 * SERAC (Mitchell et al. 2022, "Memory-Based Model Editing at Scale", arXiv:2206.06520;
 * eric-mitchell/serac). Edits go to a memory; a scope classifier decides which inputs an edit
 * covers and a counterfactual model answers those, given the edit; the base model answers the
 * rest. The classifier and the counterfactual model's copy gate are trained first (`locus train
 * --method serac`, ./networks.ts); the trained file is keyed by `layers` (the layer the classifier
 * reads), and a file trained with another shape is refused.
 */
export const SeracHparams = z.object({
  /**
   * The layer whose hidden states the scope classifier reads (one): the residual after it in a
   * decoder-only model, after that encoder layer in an encoder-decoder model.
   */
  layers: z.array(z.number().int().nonnegative()).length(1, { error: 'SERAC reads one layer: give layers as [l]' }),
  /** Attention-pooling queries over the prompt's states (beside the last token's state). */
  heads: z.number().int().positive().default(4),
  /** Width of the classifier's embeddings, compared by cosine similarity (SERAC: an embedding classifier). */
  width: z.number().int().positive().default(256),
  /** Hidden width of the copy gate (the counterfactual model's pointer: copy the edit's target, or read on). */
  gateHidden: z.number().int().positive().default(64),
  /** An input goes to the counterfactual model when its best scope probability exceeds this (SERAC: 0.5). */
  threshold: z.number().gt(0).lt(1).default(0.5),
  /** Adam learning rate of the classifier and the gate. */
  lr: z.number().positive().default(1e-3),
  /**
   * Share of training inputs that get another record's statement put in front ("A's capital is B.
   * <input>"), as CounterFact's paraphrase prompts are built: the classifier must find the edit's
   * subject past a distracting sentence.
   */
  distract: z.number().min(0).max(1).default(0.5),
  steps: z.number().int().positive().default(1000),
  /** Edit records per training step; every other record's inputs are the negatives of an edit. */
  editsPerStep: z.number().int().positive().default(8),
  checkpointEvery: z.number().int().positive().default(100),
  seed: z.number().int().default(0),
});
export type SeracHparams = z.output<typeof SeracHparams>;

/** The hyper-parameters that shape the trained file: one trained with others cannot be loaded. */
export const SERAC_ARCHITECTURE = ['layers', 'heads', 'width', 'gateHidden'] as const;

/**
 * A quarter of the way up the stack that reads the prompt (the model; T5's encoder). On the world
 * model, 300 training steps at layer 3 let neighbours (other subjects whose true object is the
 * edit's) into the scope: its middle layers have already looked the object up; at layer 1,
 * CounterFact locality went from 67.0 to 69.2 and generality from 79.5 to 84.0 (50 cases).
 */
export function seracDefaults(lm: EditableLM): z.input<typeof SeracHparams> {
  const { encoderLayers } = modelShape(lm);
  return { layers: [Math.floor((encoderLayers ?? lm.editSpec.layers) / 4)] };
}
