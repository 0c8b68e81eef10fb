import { z } from 'zod';
import { ModelId } from './models';

export const PROMPT_MAX_CHARS = 2000;
export const TOP_K_MAX = 50;
export const TOP_K_DEFAULT = 10;

export const Prompt = z
  .string({ error: 'Enter a prompt' })
  .min(1, { error: 'Enter a prompt' })
  .max(PROMPT_MAX_CHARS, { error: `The prompt is longer than ${PROMPT_MAX_CHARS} characters` });

/** POST /api/predict: the k most likely next tokens after a prompt. */
export const PredictRequest = z.object({
  model: ModelId,
  prompt: Prompt,
  k: z
    .number({ error: 'k must be a number' })
    .int({ error: 'k must be a whole number' })
    .min(1, { error: 'k must be at least 1' })
    .max(TOP_K_MAX, { error: `k must be at most ${TOP_K_MAX}` })
    .default(TOP_K_DEFAULT),
});
export type PredictRequest = z.input<typeof PredictRequest>;

export const TokenProb = z.object({
  id: z.number().int(),
  /** The token decoded on its own, leading space included (" Paris"). */
  token: z.string(),
  prob: z.number(),
});
export type TokenProb = z.infer<typeof TokenProb>;

export const PredictResponse = z.object({
  model: z.string(),
  /** The prompt as the model reads it, one decoded string per token. */
  promptTokens: z.array(z.string()),
  /** Most likely first. */
  tokens: z.array(TokenProb),
  /** Wall time of the forward pass and top-k, in milliseconds. */
  elapsedMs: z.number(),
  /** Time this request waited for the model to load (0 when it was already loaded). */
  loadMs: z.number(),
});
export type PredictResponse = z.infer<typeof PredictResponse>;
