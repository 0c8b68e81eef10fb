/**
 * Causal tracing on encoder-decoder models (T5): Meng et al. 2022's method with the subject in the
 * encoder input. The noise goes onto the subject's token embeddings at the encoder's 'embed' hook;
 * the object's probability is read at the decoder's first step (decoder input: the start token,
 * so the target's first token is what it predicts, as Seq2SeqLanguageModel.score reads it).
 * Two heatmaps:
 *   - encoder: layers x encoder tokens, through the shared algorithm (lib/tracing traceTokens),
 *     restoring clean encoder states (hidden = resid_post, mlp = mlp_out, attn = attn_out);
 *   - decoder: layers x decoder positions (one: the start token), restoring clean decoder states
 *     (hidden, mlp, and attn = the cross-attention output: the decoder's self-attention at the
 *     first position reads only the start token, which the noise never reaches, so restoring it
 *     would change nothing; cross-attention is where the corrupted encoder enters).
 * Windows for mlp/attn are restoreWindow's, per stack.
 */
import {
  collectTrace,
  restoreWindow,
  traceRequestSchema,
  traceTokens,
  type CorruptedRow,
  type DecoderGrid,
  type KindTrace,
  type RunnerSetup,
  type TraceEvent,
  type TraceKind,
  type TraceRequestInput,
  type TraceResult,
  type TraceRunner,
  type TraceRunOptions,
} from '../../lib/tracing';
import type { Tensor } from '../engine';
import { add, logSoftmax, narrow, where } from '../engine/ops';
import { Hooks, type HookPoint } from '../models/hooks';
import type { EncoderDecoderLM, Stack } from '../models/seq2seq';
import type { Seq2SeqLanguageModel } from '../models/seq2seq-lm';
import { embeddingNoiseLevel } from './noise';
import { traceInput, TraceRequestError } from './trace';

export const SEQ2SEQ_HOOK_POINTS: Record<Stack, Record<TraceKind, HookPoint>> = {
  encoder: { hidden: 'resid_post', mlp: 'mlp_out', attn: 'attn_out' },
  decoder: { hidden: 'resid_post', mlp: 'mlp_out', attn: 'cross_attn_out' },
};

/**
 * A TraceRunner over an encoder-decoder network. `corrupted` restores encoder states at encoder
 * token positions (what traceTokens plans); `corruptedIn('decoder', rows)` restores decoder states at
 * decoder positions. Clean states of both stacks are captured by `clean` and written back with
 * `where`, so a restored value is bit-identical to the clean one.
 */
export class Seq2SeqTraceRunner implements TraceRunner {
  readonly layers: number;
  readonly hidden: number;
  private setup: RunnerSetup | null = null;
  /** Clean states by "stack:point.layer", [1, T, D], kept until dispose. */
  private readonly cleanStates = new Map<string, Tensor>();

  constructor(private readonly network: EncoderDecoderLM) {
    this.layers = network.spec.encoderLayers;
    this.hidden = network.spec.hidden;
  }

  /** Decoder input of every run: the start token (the target's first token is predicted there). */
  get decoderIds(): number[] {
    return [this.network.spec.decoderStartId];
  }

  layersOf(stack: Stack): number {
    return stack === 'encoder' ? this.network.spec.encoderLayers : this.network.spec.decoderLayers;
  }

  async clean(setup: RunnerSetup): Promise<number> {
    const { ids, subject, targetId, noise, samples } = setup;
    const subjectTokens = subject.end - subject.start;
    if (subject.start < 0 || subject.end > ids.length || subjectTokens <= 0) throw new Error(`trace: subject tokens [${subject.start}, ${subject.end}) outside the encoder input's ${ids.length} tokens`);
    if (noise.length !== samples * subjectTokens * this.hidden) {
      throw new Error(`trace: noise has ${noise.length} values, expected samples x subject tokens x hidden = ${samples} x ${subjectTokens} x ${this.hidden}`);
    }
    if (!Number.isInteger(targetId) || targetId < 0 || targetId >= this.network.spec.vocabSize) throw new Error(`trace: target id ${targetId} outside the vocabulary (${this.network.spec.vocabSize})`);
    this.release();
    this.setup = setup;
    const hooks = { encoder: new Hooks(), decoder: new Hooks() };
    for (const stack of ['encoder', 'decoder'] as const) {
      for (const kind of new Set(setup.kinds)) {
        hooks[stack].on(SEQ2SEQ_HOOK_POINTS[stack][kind], '*', (x, { point, layer }) => {
          this.cleanStates.set(`${stack}:${point}.${layer}`, x.engine.keep(x));
        });
      }
    }
    return this.targetProbs(1, hooks)[0]!;
  }

  /** Rows with restorations of encoder states at encoder tokens (the TraceRunner contract). */
  async corrupted(rows: readonly CorruptedRow[]): Promise<Float32Array> {
    return this.corruptedIn('encoder', rows);
  }

  /** Rows with the subject's noise, restoring clean states of `stack` at its token positions. */
  async corruptedIn(stack: Stack, rows: readonly CorruptedRow[]): Promise<Float32Array> {
    const setup = this.setup;
    if (!setup) throw new Error('trace: corrupted() before clean()');
    if (rows.length === 0) return new Float32Array(0);
    const engine = this.network.engine;
    const { ids, subject, noise, samples } = setup;
    const [batch, tokens, hidden] = [rows.length, ids.length, this.hidden];
    const restoredTokens = stack === 'encoder' ? tokens : this.decoderIds.length;
    const subjectSize = (subject.end - subject.start) * hidden;
    // [B, S, D]: each row's noise sample on the subject's encoder positions, zero elsewhere
    const noiseValues = new Float32Array(batch * tokens * hidden);
    rows.forEach((row, b) => {
      if (!Number.isInteger(row.sample) || row.sample < 0 || row.sample >= samples) throw new Error(`trace: noise sample ${row.sample} outside 0..${samples - 1}`);
      noiseValues.set(noise.subarray(row.sample * subjectSize, (row.sample + 1) * subjectSize), (b * tokens + subject.start) * hidden);
    });
    // per "point.layer" of the stack: a 0/1 mask [B, T, 1] of the (row, token) pairs to restore
    const masks = new Map<string, Float32Array>();
    const layers = this.layersOf(stack);
    rows.forEach((row, b) => {
      for (const { kind, layers: restored, tokens: positions } of row.restore) {
        if (!setup.kinds.includes(kind)) throw new Error(`trace: '${kind}' states were not kept by clean(); kinds: ${setup.kinds.join(', ')}`);
        for (const layer of restored) {
          if (!Number.isInteger(layer) || layer < 0 || layer >= layers) throw new Error(`trace: ${stack} layer ${layer} outside 0..${layers - 1}`);
          const key = `${SEQ2SEQ_HOOK_POINTS[stack][kind]}.${layer}`;
          let mask = masks.get(key);
          if (!mask) masks.set(key, (mask = new Float32Array(batch * restoredTokens)));
          for (const t of positions) {
            if (!Number.isInteger(t) || t < 0 || t >= restoredTokens) throw new Error(`trace: ${stack} token ${t} outside its ${restoredTokens} tokens`);
            mask[b * restoredTokens + t] = 1;
          }
        }
      }
    });
    return engine.noGrad(() =>
      engine.tidy(() => {
        const noiseTensor = engine.tensor(noiseValues, [batch, tokens, hidden]);
        const hooks = { encoder: new Hooks().on('embed', 0, (x) => add(x, noiseTensor)), decoder: new Hooks() };
        for (const [key, mask] of masks) {
          const [point, layer] = key.split('.') as [HookPoint, string];
          const clean = this.cleanStates.get(`${stack}:${key}`)!;
          const maskTensor = engine.tensor(mask, [batch, restoredTokens, 1]);
          hooks[stack].on(point, Number(layer), (x) => where(maskTensor, clean, x));
        }
        return this.targetProbs(batch, hooks);
      }),
    );
  }

  dispose(): void {
    this.release();
    this.setup = null;
  }

  /** p(target) at the decoder's last position, for `batch` copies of the encoder input. */
  private targetProbs(batch: number, hooks: { encoder: Hooks; decoder: Hooks }): Float32Array {
    const engine = this.network.engine;
    const { ids, targetId } = this.setup!;
    const start = this.decoderIds;
    const encoderIds = new Int32Array(batch * ids.length);
    const decoderIds = new Int32Array(batch * start.length);
    for (let b = 0; b < batch; b++) {
      encoderIds.set(ids, b * ids.length);
      decoderIds.set(start, b * start.length);
    }
    return engine.noGrad(() =>
      engine.tidy(() => {
        const { logits } = this.network.forward({
          encoderIds: engine.tensor(encoderIds, [batch, ids.length], 'i32'),
          decoderIds: engine.tensor(decoderIds, [batch, start.length], 'i32'),
          hooks,
        });
        const last = logSoftmax(narrow(logits, 1, start.length - 1, 1)); // [B, 1, V]
        return Float32Array.from(narrow(last, 2, targetId, 1).valuesSync(), Math.exp); // [B, 1, 1]
      }),
    );
  }

  private release(): void {
    for (const t of this.cleanStates.values()) t.dispose();
    this.cleanStates.clear();
  }
}

/** Decoder-side effects: per kind, [decoder layer][decoder position] indirect effect. */
export interface DecoderTrace extends DecoderGrid {
  traces: KindTrace[];
}

/** The two heatmaps of an encoder-decoder trace, apart. */
export interface Seq2SeqTraceResult {
  /** The encoder heatmap, with the setup (clean / corrupted probabilities, tokens, subject range). */
  encoder: TraceResult;
  decoder: DecoderTrace;
}

/**
 * A causal trace of a prompt, subject and target on an encoder-decoder model, streamed as a
 * decoder-only trace is (lib/tracing TraceEvent): 'clean' (its setup names the decoder's grid; its
 * row count covers both stacks), the encoder's rows, the decoder's rows (`stack: 'decoder'`), then
 * 'done' with the encoder's result and `decoder` beside it. The noise level, when not given, is
 * noiseMultiplier x the std of the subject's token embeddings (the shared embedding both stacks
 * read), as traceStream computes it for decoder-only models.
 */
export async function* traceSeq2SeqStream(lm: Seq2SeqLanguageModel, request: TraceRequestInput, opts: TraceRunOptions = {}): AsyncGenerator<TraceEvent, void> {
  const now = opts.now ?? (() => performance.now());
  const started = now();
  const parsed = traceRequestSchema.safeParse(request);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TraceRequestError(`trace request is invalid at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  const { kinds, samples, window, seed, positions, noiseLevel, noiseMultiplier, subject } = parsed.data;
  const input = traceInput(lm, parsed.data);
  const level = noiseLevel ?? embeddingNoiseLevel(lm, [subject], { multiplier: noiseMultiplier });

  const runner = new Seq2SeqTraceRunner(lm.network);
  try {
    const layers = runner.layersOf('decoder');
    const grid = { layers, tokens: runner.decoderIds.map((id) => lm.tokenizer.decode([id])) };
    const decoderRows = kinds.length * layers;
    let encoder: TraceResult | null = null;
    for await (const event of traceTokens(runner, input, { kinds, samples, window, seed, positions, noiseLevel: level }, opts)) {
      if (event.type === 'clean') yield { ...event, setup: { ...event.setup, decoder: grid }, rows: event.rows + decoderRows };
      else if (event.type === 'row') yield { ...event, total: event.total + decoderRows };
      else encoder = event.result;
    }
    if (!encoder) throw new Error('trace: the encoder trace ended without a result');
    const encoderRows = encoder.traces.reduce((n, t) => n + t.effects.length, 0);
    const pause = opts.pause ?? (() => new Promise<void>((r) => setImmediate(r)));
    const positionsOut = runner.decoderIds.map((_, t) => t);
    const traces: KindTrace[] = [];
    for (const kind of kinds) {
      const effects: number[][] = [];
      for (let layer = 0; layer < layers; layer++) {
        const restoreLayers = restoreWindow(kind, layer, layers, window);
        const cells = positionsOut.flatMap((token) => Array.from({ length: samples }, (_, sample) => ({ sample, restore: [{ kind, layers: restoreLayers, tokens: [token] }] })));
        const probs = await runner.corruptedIn('decoder', cells);
        const row = positionsOut.map((_, i) => mean(probs.subarray(i * samples, (i + 1) * samples)) - encoder.pCorrupted);
        effects.push(row);
        yield { type: 'row', stack: 'decoder', kind, layer, effects: row, done: encoderRows + traces.length * layers + layer + 1, total: encoderRows + decoderRows };
        await pause();
      }
      traces.push({ kind, effects });
    }
    yield { type: 'done', result: { ...encoder, decoder: grid, decoderTraces: traces, seconds: (now() - started) / 1000 } };
  } finally {
    runner.dispose();
  }
}

/** A whole encoder-decoder trace, its two heatmaps apart. */
export async function traceSeq2Seq(lm: Seq2SeqLanguageModel, request: TraceRequestInput, opts: TraceRunOptions = {}): Promise<Seq2SeqTraceResult> {
  const { decoder, decoderTraces, ...encoder } = await collectTrace(traceSeq2SeqStream(lm, request, opts));
  if (!decoder || !decoderTraces) throw new Error('trace: the encoder-decoder trace ended without its decoder heatmaps');
  return { encoder, decoder: { ...decoder, traces: decoderTraces } };
}

function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s / values.length;
}
