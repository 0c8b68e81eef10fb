/**
 * A causal trace of whichever architecture the model has: the job runner's one entry point. The
 * decoder-only trace (./trace.ts) and the encoder-decoder one (./seq2seq.ts) stream the same events
 * (lib/tracing TraceEvent); T5's add the decoder's rows and grid.
 */
import type { TraceEvent, TraceRequestInput } from '../../lib/tracing';
import { modelShape } from '../models/describe';
import type { EditableLM } from '../models/editable';
import { LanguageModel } from '../models/lm';
import { Seq2SeqLanguageModel } from '../models/seq2seq-lm';
import { traceSeq2SeqStream } from './seq2seq';
import { TraceRequestError, traceStream, type TraceStreamOptions } from './trace';

export function traceModelStream(lm: EditableLM, request: TraceRequestInput, opts: TraceStreamOptions = {}): AsyncGenerator<TraceEvent, void> {
  const layers = traceLayers(lm);
  if (request.window !== undefined && request.window > layers) throw new TraceRequestError(`window ${request.window} is larger than the model's ${layers} layers`);
  if (lm instanceof Seq2SeqLanguageModel) return traceSeq2SeqStream(lm, request, opts);
  if (lm instanceof LanguageModel) return traceStream(lm, request, opts);
  throw new TraceRequestError(`causal tracing supports decoder-only and T5 models; this ${lm.editSpec.family} model is neither`);
}

/** The most layers a restoration window can span: the model's, or the shallower of T5's two stacks. */
export function traceLayers(lm: EditableLM): number {
  const { layers, encoderLayers } = modelShape(lm);
  return Math.min(layers, encoderLayers ?? layers);
}
