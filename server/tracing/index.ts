/** Causal tracing on the engine (ROME-style); the algorithm and types live in lib/tracing. */
export { EngineTraceRunner, KIND_HOOK_POINTS } from './runner';
export { embeddingNoiseLevel, embeddingRows, inputEmbedding } from './noise';
export { trace, traceInput, TraceRequestError, traceStream, traceTokenStream, type TraceStreamOptions } from './trace';
export { SEQ2SEQ_HOOK_POINTS, Seq2SeqTraceRunner, traceSeq2Seq, traceSeq2SeqStream, type DecoderTrace, type Seq2SeqTraceResult } from './seq2seq';
export { traceLayers, traceModelStream } from './model';
