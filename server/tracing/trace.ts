import {
  collectTrace,
  traceRequestSchema,
  traceTokens,
  type TraceEvent,
  type TraceInput,
  type TraceRequestInput,
  type ResolvedTraceSettings,
  type TraceResult,
  type TraceRunOptions,
} from '../../lib/tracing';
import type { EditableLM } from '../models/editable';
import type { LanguageModel } from '../models/lm';
import type { CausalLM } from '../models/network';
import { embeddingNoiseLevel } from './noise';
import { EngineTraceRunner } from './runner';

export interface TraceStreamOptions extends TraceRunOptions {
  /** Subjects whose token embeddings set the noise level when the request gives none (ROME used
   * its 1000 known facts' subjects). Default: the traced subject alone. */
  noiseSubjects?: readonly string[];
}

/** Bad trace requests: not a valid request, subject not in the prompt, a target with no tokens. */
export class TraceRequestError extends Error {
  override name = 'TraceRequestError';
}

/** Tokenises a request: the prompt's tokens, the subject's token range, the target's first token. */
export function traceInput(lm: Pick<EditableLM, 'encode' | 'tokenizer'>, request: { prompt: string; subject: string; target: string; subjectAt?: number }): TraceInput {
  const { prompt, subject, target } = request;
  const tokenIds = lm.encode(prompt);
  let range: { start: number; end: number };
  try {
    range = lm.tokenizer.findSubjectTokens(prompt, subject, { at: request.subjectAt });
  } catch (error) {
    throw new TraceRequestError((error as Error).message, { cause: error });
  }
  // the target is tokenised on its own, as LanguageModel.score does: write it with its leading space
  const targetIds = lm.tokenizer.encode(target, { addSpecialTokens: false }).ids;
  if (targetIds.length === 0) throw new TraceRequestError(`trace: target ${JSON.stringify(target)} has no tokens`);
  const decode = (id: number) => lm.tokenizer.decode([id]);
  return {
    prompt,
    subject,
    target,
    tokens: tokenIds.map(decode),
    tokenIds,
    subjectRange: { start: range.start, end: range.end },
    targetToken: { id: targetIds[0]!, text: decode(targetIds[0]!) },
  };
}

/**
 * A causal trace of a prompt, subject and target on a language model, streamed: a 'clean' event,
 * a 'row' per (kind, layer) as it completes, then 'done' with the result (see lib/tracing).
 * Clean states live until the trace ends or the consumer stops reading.
 */
export async function* traceStream(lm: LanguageModel, request: TraceRequestInput, opts: TraceStreamOptions = {}): AsyncGenerator<TraceEvent, void> {
  const parsed = traceRequestSchema.safeParse(request);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TraceRequestError(`trace request is invalid at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  const { kinds, samples, window, seed, positions, noiseLevel, noiseMultiplier } = parsed.data;
  const input = traceInput(lm, parsed.data);
  const level = noiseLevel ?? embeddingNoiseLevel(lm, opts.noiseSubjects ?? [parsed.data.subject], { multiplier: noiseMultiplier });
  yield* traceTokenStream(lm.network, input, { kinds, samples, window, seed, positions, noiseLevel: level }, opts);
}

/** The token-level trace on a network (no tokenizer needed): ids, subject token range, target id. */
export async function* traceTokenStream(network: CausalLM, input: TraceInput, settings: ResolvedTraceSettings, opts: TraceRunOptions = {}): AsyncGenerator<TraceEvent, void> {
  const runner = new EngineTraceRunner(network);
  try {
    yield* traceTokens(runner, input, settings, opts);
  } finally {
    runner.dispose();
  }
}

/** A whole trace, for callers that do not stream. */
export function trace(lm: LanguageModel, request: TraceRequestInput, opts: TraceStreamOptions = {}): Promise<TraceResult> {
  return collectTrace(traceStream(lm, request, opts));
}
