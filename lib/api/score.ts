import { z } from 'zod';
import { ModelId } from './models';
import { Prompt } from './predict';

export const TARGETS_MAX = 10;
export const TARGET_MAX_CHARS = 200;

/**
 * POST /api/score: teacher-forced probabilities of target continuations after a prompt. Each
 * target is tokenised on its own and appended to the prompt, so write it with its leading space
 * (" Paris"), as EasyEdit and ROME do.
 */
export const ScoreRequest = z.object({
  model: ModelId,
  prompt: Prompt,
  targets: z
    .array(
      z
        .string()
        .min(1, { error: 'A target is empty' })
        .max(TARGET_MAX_CHARS, { error: `A target is longer than ${TARGET_MAX_CHARS} characters` }),
      { error: 'Give the targets as a list of strings' },
    )
    .min(1, { error: 'Enter at least one target' })
    .max(TARGETS_MAX, { error: `Compare at most ${TARGETS_MAX} targets` }),
});
export type ScoreRequest = z.input<typeof ScoreRequest>;

export const ScoredToken = z.object({
  id: z.number().int(),
  token: z.string(),
  /** log p(token | prompt and the target tokens before it) */
  logProb: z.number(),
  prob: z.number(),
  /** Whether the model's most likely token at this position is this one (token accuracy). */
  isArgmax: z.boolean(),
});
export type ScoredToken = z.infer<typeof ScoredToken>;

export const TargetScore = z.object({
  target: z.string(),
  tokens: z.array(ScoredToken),
  /** Sum of the tokens' log-probabilities. */
  logProb: z.number(),
  /** exp(logProb): the probability of the whole target. */
  prob: z.number(),
});
export type TargetScore = z.infer<typeof TargetScore>;

export const ScoreResponse = z.object({
  model: z.string(),
  targets: z.array(TargetScore),
  elapsedMs: z.number(),
  loadMs: z.number(),
});
export type ScoreResponse = z.infer<typeof ScoreResponse>;
