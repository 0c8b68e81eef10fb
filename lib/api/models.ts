import { z } from 'zod';

/** Ids are short slugs; the hub decides which exist (unknown ids answer 404, not 400). */
export const ModelId = z.string().min(1, { error: 'Choose a model' }).max(100);

export const ModelStatus = z.enum(['available', 'loading', 'loaded', 'error']);
export type ModelStatus = z.infer<typeof ModelStatus>;

/**
 * A model the studio can run. Architecture numbers come from the checkpoint's config (or GGUF
 * metadata) before loading and from the built network after; `params` is counted once loaded.
 */
export const ModelInfo = z.object({
  id: z.string(),
  label: z.string(),
  description: z.string(),
  /** gpt2, gptj, llama, neox, t5 (config.json's model_type until the model is loaded). */
  family: z.string().nullable(),
  /** Decoder-only, or encoder-decoder (T5: the prompt goes to the encoder, the answer is the decoder's). */
  architecture: z.enum(['decoder-only', 'encoder-decoder']).nullable(),
  /** Layers of the stack edits act on: the decoder-only model's, or T5's decoder. */
  layers: z.number().int().nullable(),
  /** T5's encoder layers; null for a decoder-only model. */
  encoderLayers: z.number().int().nullable(),
  hidden: z.number().int().nullable(),
  vocabSize: z.number().int().nullable(),
  /** Context length in tokens (T5 has no absolute positions: the bound Locus reads). */
  maxPositions: z.number().int().nullable(),
  params: z.number().int().nullable(),
  status: ModelStatus,
  /** Why the model cannot be described or loaded, when status is "error". */
  error: z.string().optional(),
  isDefault: z.boolean(),
});
export type ModelInfo = z.infer<typeof ModelInfo>;

/** GET /api/models */
export const ModelsResponse = z.object({
  models: z.array(ModelInfo),
  defaultModel: z.string(),
});
export type ModelsResponse = z.infer<typeof ModelsResponse>;
