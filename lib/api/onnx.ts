import { z } from 'zod';
import { tokenRangeSchema, traceKindSchema, tracePositionsSchema } from '../tracing/schema';

/**
 * Tracing in the browser: POST /api/models/{id}/trace-input tokenises a trace request and resolves
 * its noise level on the server (the tokenizer and the embeddings live there); the worker then
 * downloads GET /api/models/{id}/onnx of the same `version`, draws the same noise from the seed,
 * and runs lib/tracing's algorithm on onnxruntime-web.
 */
export const BrowserTraceInput = z.object({
  model: z.string(),
  /** The loaded version the input was made for: "base", or the applied edits (server/onnx versionOf). */
  version: z.string(),
  layers: z.number().int().positive(),
  hidden: z.number().int().positive(),
  /** Bytes of f32 weights the ONNX file holds, and the server's limit for it. */
  onnxBytes: z.number().int().positive(),
  maxOnnxBytes: z.number().int().positive(),
  input: z.object({
    prompt: z.string(),
    subject: z.string(),
    target: z.string(),
    tokens: z.array(z.string()),
    tokenIds: z.array(z.number().int().nonnegative()),
    subjectRange: tokenRangeSchema,
    targetToken: z.object({ id: z.number().int().nonnegative(), text: z.string() }),
  }),
  settings: z.object({
    kinds: z.array(traceKindSchema).min(1),
    samples: z.number().int().positive(),
    noiseLevel: z.number().nonnegative(),
    window: z.number().int().positive(),
    seed: z.number().int().nonnegative(),
    positions: tracePositionsSchema,
  }),
});
export type BrowserTraceInput = z.infer<typeof BrowserTraceInput>;

/** Response header naming the version an ONNX download holds. */
export const ONNX_VERSION_HEADER = 'X-Locus-Version';
