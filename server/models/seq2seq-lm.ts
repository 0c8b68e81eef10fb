import type { Engine, Tensor } from '../engine';
import { indexSelect, logSoftmax, narrow, reshape } from '../engine/ops';
import type { EditableLM, EditStackSpec, PromptIds, StackRun } from './editable';
import { Hooks } from './hooks';
import type { TargetScore, TextTokenizer, TokenProb } from './lm';
import { topEntries } from './lm';
import type { Encoded, EncoderDecoderLM, Seq2SeqHooks } from './seq2seq';

/**
 * T5 has no absolute positions; this bounds what statistics and T-Patcher's memory read per text,
 * as a decoder-only model's context does (the released T5 checkpoints trained on 512 tokens).
 */
const SEQ2SEQ_MAX_POSITIONS = 512;

export interface Seq2SeqGenerateOptions {
  maxNewTokens?: number;
  stopAtEos?: boolean;
  /** true (default): the decoder's KV cache; false: re-run the whole decoder each step (a check). */
  useCache?: boolean;
}

/**
 * An encoder-decoder model with its tokenizer: the `LanguageModel` counterpart of ../lm.ts. The
 * prompt goes to the encoder (with the tokenizer's special tokens: T5 appends </s>), the target is
 * scored on the decoder side after the decoder start token, teacher-forced, as EasyEdit scores T5.
 */
export class Seq2SeqLanguageModel implements EditableLM {
  readonly architecture = 'encoder-decoder' as const;

  constructor(
    readonly network: EncoderDecoderLM,
    readonly tokenizer: TextTokenizer,
  ) {}

  /** The decoder is the edit stack (./editable.ts): the target is predicted there. */
  get editSpec(): EditStackSpec {
    const { family, decoderLayers, hidden, mlpHidden, vocabSize } = this.network.spec;
    return { family, layers: decoderLayers, hidden, mlpHidden, vocabSize, maxPositions: SEQ2SEQ_MAX_POSITIONS };
  }

  mlpOutWeight(layer: number): { name: string; transposed: boolean } {
    return this.network.mlpOutWeight('decoder', layer);
  }

  mlpInWeight(layer: number): { name: string; transposed: boolean } {
    return this.network.mlpInWeight('decoder', layer);
  }

  /** The shared embedding (T5's decoder input embedding: no positions, no scale). */
  inputEmbedding(): Tensor {
    const { params } = this.network;
    const table = params.get('shared.weight') ?? params.get('encoder.embed_tokens.weight');
    if (!table) throw new Error('seq2seq: no shared token embedding among the parameters');
    return table;
  }

  layout(seqs: readonly PromptIds[]): { width: number; row(b: number, j: number): number } {
    const width = 1 + Math.max(...seqs.map((s) => s.continuation.length));
    return { width, row: (b, j) => b * width + j };
  }

  /**
   * Prompts to the encoder, [start] ++ continuation to the decoder (both right-padded); hooks act on
   * the decoder; continuation token j is predicted at decoder position j.
   */
  teacherForced(seqs: readonly PromptIds[], hooks?: Hooks): StackRun & { logits: Tensor } {
    const encoded = this.encodePadded(seqs.map((s) => [...s.prompt]));
    const { input, mask } = this.padded(this.decoderInputs(seqs), this.network.spec.padId);
    const { logits } = this.network.decode({ ids: input, encoded, attentionMask: mask, hooks });
    return { logits, mask, row: this.layout(seqs).row };
  }

  /**
   * The decoder residual after `layer` (the decoder runs to its end: its head is cheap, and the
   * family has one decode path). `hooks` gets a reader at resid_post of `layer`.
   */
  stackToLayer(seqs: readonly PromptIds[], layer: number, hooks: Hooks): StackRun & { residual: Tensor } {
    let residual: Tensor | null = null;
    hooks.on('resid_post', layer, (x) => {
      residual = x;
    });
    const run = this.teacherForced(seqs, hooks);
    if (!residual) throw new Error(`seq2seq: decoder layer ${layer} was not reached (the decoder has ${this.network.spec.decoderLayers})`);
    return { residual, mask: run.mask, row: run.row };
  }

  head(residual: Tensor): Tensor {
    return this.network.decoderHead(residual);
  }

  /** The encoder's residual after encoder layer `layer` over each prompt's tokens (right-padded): the stack that reads the prompt. */
  promptStates(prompts: readonly string[], layer: number): { states: Tensor; mask: number[][] } {
    const layers = this.network.spec.encoderLayers;
    if (layer < 0 || layer >= layers) throw new Error(`promptStates: encoder layer ${layer} out of range: the encoder has ${layers}`);
    let states: Tensor | null = null;
    const hooks = { encoder: new Hooks().on('resid_post', layer, (x) => (states = x)) };
    const { mask } = this.encodePadded(
      prompts.map((p) => this.encode(p)),
      hooks,
    );
    return { states: states!, mask };
  }

  /**
   * A text read as the world model's seq2seq framing reads it: its first half of words to the
   * encoder, the rest to the decoder (so the decoder's positions see real continuations).
   */
  textIds(text: string): PromptIds {
    const words = text.trim().split(/\s+/);
    const cut = Math.max(1, Math.floor(words.length / 2));
    const prompt = this.encode(words.slice(0, cut).join(' ')).slice(0, SEQ2SEQ_MAX_POSITIONS);
    const rest = words.slice(cut).join(' ');
    const continuation = rest ? this.tokenizer.encode(` ${rest}`, { addSpecialTokens: false }).ids.slice(0, SEQ2SEQ_MAX_POSITIONS - 1) : [];
    return { prompt, continuation };
  }

  /** Rows of the shared embedding. */
  tokenEmbeddings(ids: readonly number[]): Float32Array[] {
    const values = this.inputEmbedding().valuesSync();
    const d = this.network.spec.hidden;
    return ids.map((id) => Float32Array.from(values.subarray(id * d, (id + 1) * d)));
  }

  /** [start] ++ continuation per sequence. */
  private decoderInputs(seqs: readonly PromptIds[]): number[][] {
    return seqs.map((s) => [this.network.spec.decoderStartId, ...s.continuation]);
  }

  get engine(): Engine {
    return this.network.engine;
  }

  encode(text: string): number[] {
    return this.tokenizer.encode(text).ids;
  }

  /** The k most likely first decoder tokens for each prompt (among tokens the tokenizer can name); routed through the edit memory unless hooks are given. */
  topK(prompts: readonly string[], k = 10, hooks?: Seq2SeqHooks): TokenProb[][] {
    if (hooks || !this.network.memory.size) return this.ownTopK(prompts, k, hooks);
    return this.network.memory.dispatch(
      prompts,
      (idx) => this.ownTopK(idx.map((i) => prompts[i]!), k),
      (router, items) => router.topK(items, k),
    );
  }

  private ownTopK(prompts: readonly string[], k: number, hooks?: Seq2SeqHooks): TokenProb[][] {
    const start = this.network.spec.decoderStartId;
    const rows = this.inference(() => {
      const encoded = this.encodePadded(prompts.map((p) => this.encode(p)), hooks);
      const ids = this.engine.tensor(new Int32Array(prompts.length).fill(start), [prompts.length, 1], 'i32');
      const { logits } = this.network.decode({ ids, encoded, hooks: hooks?.decoder }); // [B, 1, V]
      const values = logSoftmax(reshape(logits, [prompts.length, -1])).valuesSync();
      const vocab = logits.shape[2]!;
      // T5's embedding has rows past the tokenizer's vocabulary (32128 vs 32100): no text, so no candidate
      const named = Math.min(vocab, this.tokenizer.vocabSize);
      return prompts.map((_, b) => values.slice(b * vocab, b * vocab + named));
    });
    return rows.map((lp) => topEntries(lp, k).map(([id, logProb]) => ({ id, token: this.tokenizer.decode([id]), prob: Math.exp(logProb) })));
  }

  /**
   * Teacher-forced log-probabilities of each target given its prompt. The target is tokenised
   * without special tokens (no </s>), so the scores are those of its text, as for decoder-only
   * models; the decoder reads [start, target[0..n-2]] and predicts target[0..n-1]. Routed through
   * the edit memory unless hooks are given.
   */
  score(pairs: readonly { prompt: string; target: string }[], hooks?: Seq2SeqHooks): TargetScore[] {
    if (hooks || !this.network.memory.size) return this.ownScore(pairs, hooks);
    return this.network.memory.dispatch(
      pairs.map((p) => p.prompt),
      (idx) => this.ownScore(idx.map((i) => pairs[i]!)),
      (router, items, idx) => router.score(items.map((item, k) => ({ ...item, target: pairs[idx[k]!]!.target }))),
    );
  }

  private ownScore(pairs: readonly { prompt: string; target: string }[], hooks?: Seq2SeqHooks): TargetScore[] {
    const prompts = pairs.map((p) => this.encode(p.prompt));
    const targets = pairs.map((p, i) => {
      const ids = this.tokenizer.encode(p.target, { addSpecialTokens: false }).ids;
      if (!ids.length) throw new Error(`score: target ${JSON.stringify(pairs[i]!.target)} has no tokens`);
      return ids;
    });
    const start = this.network.spec.decoderStartId;
    const inputs = targets.map((t) => [start, ...t.slice(0, -1)]);
    const width = Math.max(...inputs.map((s) => s.length));
    const vocab = this.network.spec.vocabSize;
    // only the rows that predict target tokens leave the backend: [targets, V]
    const rows = targets.flatMap((t, b) => t.map((_, j) => b * width + j));
    const values = this.inference(() => {
      const encoded = this.encodePadded(prompts, hooks);
      const { input, mask } = this.padded(inputs, this.network.spec.padId);
      const { logits } = this.network.decode({ ids: input, encoded, attentionMask: mask, hooks: hooks?.decoder });
      const picked = indexSelect(reshape(logits, [-1, vocab]), 0, this.engine.tensor(Int32Array.from(rows), [rows.length], 'i32'));
      return logSoftmax(picked).valuesSync();
    });
    let next = 0;
    return targets.map((target) => {
      const tokens = target.map((id) => {
        const slice = values.subarray(next * vocab, ++next * vocab);
        return { id, text: this.tokenizer.decode([id]), logProb: slice[id]!, argmaxId: argmax(slice) };
      });
      return { tokens, logProb: tokens.reduce((s, t) => s + t.logProb, 0) };
    });
  }

  /** Greedy continuation ids per prompt (without the start token; stops after </s> when asked). */
  generateIds(prompts: readonly number[][], opts: Seq2SeqGenerateOptions = {}): number[][] {
    const { maxNewTokens = 20, stopAtEos = true, useCache = true } = opts;
    const { decoderStartId: start, eosId } = this.network.spec;
    const e = this.engine;
    const encoded = this.inference(() => {
      const enc = this.encodePadded(prompts);
      return { states: e.keep(enc.states), mask: enc.mask };
    });
    const cache = useCache ? this.network.newCache() : undefined;
    const decoded = prompts.map(() => [start]);
    const out: number[][] = prompts.map(() => []);
    const done = prompts.map(() => false);
    try {
      for (let n = 0; n < maxNewTokens && !done.every(Boolean); n++) {
        const next = this.inference(() => {
          // with the cache only the newest token is fed; without it, the whole prefix again
          const step = cache ? decoded.map((d) => d.slice(-1)) : decoded;
          const ids = e.tensor(Int32Array.from(step.flat()), [step.length, step[0]!.length], 'i32');
          const { logits } = this.network.decode({ ids, encoded, cache });
          return lastArgmax(logits);
        });
        next.forEach((id, b) => {
          decoded[b]!.push(id);
          if (done[b]) return;
          out[b]!.push(id);
          if (stopAtEos && id === eosId) done[b] = true;
        });
      }
    } finally {
      cache?.dispose();
      encoded.states.dispose();
    }
    return out;
  }

  /**
   * Greedy continuation text per prompt, with the decoder's KV cache. Ids past the tokenizer's
   * vocabulary (T5's spare embedding rows; transformers does not mask them either) have no text
   * and are left out of it. Routed through the edit memory.
   */
  generate(prompts: readonly string[], opts: Seq2SeqGenerateOptions = {}): string[] {
    if (!this.network.memory.size) return this.ownGenerate(prompts, opts);
    return this.network.memory.dispatch(
      prompts,
      (idx) => this.ownGenerate(idx.map((i) => prompts[i]!), opts),
      (router, items) => router.generate(items, opts),
    );
  }

  private ownGenerate(prompts: readonly string[], opts: Seq2SeqGenerateOptions): string[] {
    const ids = this.generateIds(
      prompts.map((p) => this.encode(p)),
      opts,
    );
    const named = this.tokenizer.vocabSize;
    return ids.map((row) => this.tokenizer.decode(row.filter((id) => id < named), { skipSpecialTokens: true }));
  }

  private encodePadded(seqs: readonly number[][], hooks?: Seq2SeqHooks): Encoded {
    const { input, mask } = this.padded(seqs, this.tokenizer.padId ?? this.network.spec.padId);
    return this.network.encode({ ids: input, attentionMask: mask, hooks: hooks?.encoder });
  }

  /** Right-padded ids [B, T] and their mask. */
  private padded(seqs: readonly number[][], pad: number): { input: Tensor; mask: number[][] } {
    const width = Math.max(...seqs.map((s) => s.length));
    if (width === 0) throw new Error('seq2seq: empty input');
    const ids = new Int32Array(seqs.length * width).fill(pad);
    const mask = seqs.map((s, b) => {
      ids.set(s, b * width);
      return Array.from({ length: width }, (_, j) => (j < s.length ? 1 : 0));
    });
    return { input: this.engine.tensor(ids, [seqs.length, width], 'i32'), mask };
  }

  /** Runs `fn` in a scope without recording gradients. */
  private inference<T>(fn: () => T): T {
    return this.engine.noGrad(() => this.engine.tidy(fn));
  }
}

/** Argmax of the last position's logits per sequence. */
function lastArgmax(logits: Tensor): number[] {
  const [b, t, v] = logits.shape as [number, number, number];
  const values = narrow(logits, 1, t - 1, 1).valuesSync();
  return Array.from({ length: b }, (_, i) => argmax(values.subarray(i * v, (i + 1) * v)));
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
