import { z } from 'zod';

/**
 * Causal tracing (Meng et al. 2022, "Locating and Editing Factual Associations in GPT",
 * https://arxiv.org/abs/2202.05262; reference: kmeng01/rome experiments/causal_trace.py): what a
 * trace is asked for, the events it streams and the result it ends with. Shared by the server
 * (server/tracing) and the browser worker, so both speak the same shapes.
 */

/** What is restored from the clean run: the residual stream after a layer ('hidden'), or a window
 * of layers' MLP outputs ('mlp') or attention outputs ('attn'). */
export const TRACE_KINDS = ['hidden', 'mlp', 'attn'] as const;
export const traceKindSchema = z.enum(TRACE_KINDS);
export type TraceKind = z.infer<typeof traceKindSchema>;

/**
 * Which token positions get a column of restorations: 'all' (ROME's heatmaps), or 'key' (the
 * subject's last token and the prompt's last token only: the two rows the layer choice and the
 * late-site check read, at a fraction of the cost).
 */
export const tracePositionsSchema = z.enum(['all', 'key']);
export type TracePositions = z.infer<typeof tracePositionsSchema>;

/** The method's settings, with ROME's defaults. */
export const traceSettingsSchema = z.object({
  kinds: z.array(traceKindSchema).min(1).default([...TRACE_KINDS]),
  /** Noise samples per cell, run as one batch (ROME: 10). */
  samples: z.number().int().min(1).max(1000).default(10),
  /** A fixed noise standard deviation. Absent: noiseMultiplier x the std of token embeddings. */
  noiseLevel: z.number().nonnegative().optional(),
  /** ROME: 3 x the std of the embeddings of subjects' tokens. */
  noiseMultiplier: z.number().positive().default(3),
  /** Layers restored together for 'mlp' and 'attn' (ROME: 10); see restoreWindow. */
  window: z.number().int().min(1).default(10),
  /** Seed of the Gaussian noise: the same seed draws the same noise on every backend. */
  seed: z.number().int().nonnegative().default(1),
  positions: tracePositionsSchema.default('all'),
});
export type TraceSettings = z.infer<typeof traceSettingsSchema>;

/** A trace of one fact: `prompt` contains `subject`; `target` continues the prompt, written with
 * its leading space (" Paris"); its first token is the object whose probability is traced. */
export const traceRequestSchema = z.object({
  prompt: z.string().min(1),
  subject: z.string().min(1),
  target: z.string().min(1),
  /** Character index of the subject in the prompt, when it occurs more than once. */
  subjectAt: z.number().int().nonnegative().optional(),
  ...traceSettingsSchema.shape,
});
export type TraceRequest = z.infer<typeof traceRequestSchema>;
export type TraceRequestInput = z.input<typeof traceRequestSchema>;

/** Token range of the subject in the prompt's tokens: [start, end). */
export const tokenRangeSchema = z
  .object({ start: z.number().int().nonnegative(), end: z.number().int().positive() })
  .refine((r) => r.end > r.start, { message: 'the subject range is empty (end <= start)' });
export type TokenRange = z.infer<typeof tokenRangeSchema>;

/** The stacks of an encoder-decoder model a trace restores states in (server/tracing/seq2seq.ts). */
export const TRACE_STACKS = ['encoder', 'decoder'] as const;
export const traceStackSchema = z.enum(TRACE_STACKS);
export type TraceStack = z.infer<typeof traceStackSchema>;

/**
 * An encoder-decoder model's decoder grid: its layers and the decoder positions restored (the start
 * token, where the target's first token is predicted). The setup's own tokens and layers are then
 * the encoder's, where the subject is.
 */
export const decoderGridSchema = z.object({
  layers: z.number().int().positive(),
  tokens: z.array(z.string()),
});
export type DecoderGrid = z.infer<typeof decoderGridSchema>;

/** What the clean run established; the first event of a trace and part of its result. */
export const traceSetupSchema = z.object({
  prompt: z.string(),
  subject: z.string(),
  target: z.string(),
  /** The prompt's tokens as text, and their ids. */
  tokens: z.array(z.string()),
  tokenIds: z.array(z.number().int()),
  subjectRange: tokenRangeSchema,
  /** The token whose probability is traced: the target's first. */
  targetToken: z.object({ id: z.number().int().nonnegative(), text: z.string() }),
  layers: z.number().int().positive(),
  noiseLevel: z.number().nonnegative(),
  samples: z.number().int().positive(),
  window: z.number().int().positive(),
  seed: z.number().int().nonnegative(),
  /** p(target | prompt) of the clean run. */
  pClean: z.number(),
  /** Mean p(target) over the corrupted runs (noise on the subject, nothing restored). */
  pCorrupted: z.number(),
  /** pClean - pCorrupted. */
  totalEffect: z.number(),
  /** Encoder-decoder models only: the decoder's grid (tokens and layers above are the encoder's). */
  decoder: decoderGridSchema.optional(),
});
export type TraceSetup = z.infer<typeof traceSetupSchema>;

/**
 * Indirect effects of one kind, [layer][token] = p_restored - p_corrupted. null where the position
 * was not traced ('key' positions); 0 before the subject, where restoring changes nothing (the
 * clean and corrupted runs agree there, causal attention).
 */
export const kindTraceSchema = z.object({
  kind: traceKindSchema,
  effects: z.array(z.array(z.number().nullable())),
});
export type KindTrace = z.infer<typeof kindTraceSchema>;

/** The layer to edit: where restoring `kind` at the subject's last token helps most. */
export const layerSuggestionSchema = z.object({
  kind: traceKindSchema,
  layer: z.number().int().nonnegative(),
  /** The subject's last token. */
  token: z.number().int().nonnegative(),
  /** That token's column of `kind`'s effects, one per layer. */
  effects: z.array(z.number()),
});
export type LayerSuggestion = z.infer<typeof layerSuggestionSchema>;

export const traceResultSchema = traceSetupSchema.extend({
  /** Of the setup's stack (encoder-decoder models: the encoder). */
  traces: z.array(kindTraceSchema),
  /** Encoder-decoder models: the decoder's heatmaps, per kind [decoder layer][decoder position] (on the grid `decoder`). */
  decoderTraces: z.array(kindTraceSchema).optional(),
  /** From 'mlp' when traced (ROME edits an MLP), else 'hidden', else 'attn'; of the setup's stack. */
  suggestion: layerSuggestionSchema,
  /** Wall time of the whole trace, clean run included. */
  seconds: z.number().nonnegative(),
});
export type TraceResult = z.infer<typeof traceResultSchema>;

/** Progress of a trace, in order: one 'clean', a 'row' per (kind, layer) as it completes, 'done'. */
export const traceEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('clean'), setup: traceSetupSchema, rows: z.number().int().nonnegative() }),
  z.object({
    type: z.literal('row'),
    /** Encoder-decoder models: which stack's heatmap the row belongs to (absent: the setup's stack). */
    stack: traceStackSchema.optional(),
    kind: traceKindSchema,
    layer: z.number().int().nonnegative(),
    /** Per token: the indirect effect, null where not traced. */
    effects: z.array(z.number().nullable()),
    /** Rows completed so far, of `total`. */
    done: z.number().int().positive(),
    total: z.number().int().positive(),
  }),
  z.object({ type: z.literal('done'), result: traceResultSchema }),
]);
export type TraceEvent = z.infer<typeof traceEventSchema>;
