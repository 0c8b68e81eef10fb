import type { TraceKind } from '../tracing/schema';

/**
 * The inputs and outputs of a model the engine exports to ONNX for causal tracing (server/onnx
 * writes it; OnnxTraceRunner runs it). One graph serves the clean run and every corrupted run:
 *
 *   inputs
 *     input_ids      int32 [B, T]
 *     embed_noise    float [B, T, D]    added to the embeddings (token + position for GPT-2): the
 *                                       'embed' hook point, where the engine runner adds its noise
 *     target_ids     int32 [K]          tokens whose probability at the last position is reported
 *     restore_{kind} bool  [L, B, T, 1] where true, layer l's {kind} state is replaced...
 *     clean_{kind}   float [L, 1, T, D] ...by this clean state (a select, so bit-exact)
 *   outputs
 *     target_probs   float [B, K]       softmax of the last position's logits, at target_ids
 *     last_logits    float [B, V]       the last position's logits (or `logits` [B, T, V], see below)
 *     state_{kind}   float [L, B, T, D] every layer's {kind} state, after restoration
 *
 * {kind} is hidden (the residual stream after the block), mlp (MLP output) or attn (attention
 * output after its projection): the engine's resid_post, mlp_out and attn_out hook points.
 */
export const ONNX_IO = {
  ids: 'input_ids',
  noise: 'embed_noise',
  targets: 'target_ids',
  targetProbs: 'target_probs',
  lastLogits: 'last_logits',
  /** Present instead of last_logits in exports made with `allLogits` (parity checks). */
  logits: 'logits',
} as const;

export const restoreInput = (kind: TraceKind) => `restore_${kind}`;
export const cleanInput = (kind: TraceKind) => `clean_${kind}`;
export const stateOutput = (kind: TraceKind) => `state_${kind}`;

/** Metadata written into the model (metadata_props), read by clients that need the shapes. */
export interface OnnxModelMeta {
  family: string;
  layers: number;
  hidden: number;
  vocabSize: number;
  maxPositions: number;
}
