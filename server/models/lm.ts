import { mulberry32 } from '../../lib/random';
import type { Engine, Tensor } from '../engine';
import { crossEntropy, indexSelect, logSoftmax, narrow, reshape } from '../engine/ops';
import type { EditableLM, EditStackSpec, PromptIds, StackRun } from './editable';
import { inputEmbedding } from '../tracing/noise';
import { captureInto, Hooks } from './hooks';
import type { CausalLM, ForwardInput } from './network';
import { KVCache } from './network';

/** What the language model needs from a tokenizer (server/models/tokenizer implements it). */
export interface TextTokenizer {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): { ids: number[]; offsets: [number, number][] };
  decode(ids: readonly number[], opts?: { skipSpecialTokens?: boolean }): string;
  readonly eosId?: number;
  readonly padId?: number;
  readonly vocabSize: number;
  /** Token range of the subject at character `at` of the prompt, found through offsets. */
  findSubjectTokens(prompt: string, subject: string, opts?: { at?: number }): { start: number; end: number; last: number };
}

export interface TokenProb {
  id: number;
  token: string;
  prob: number;
}

export interface TargetScore {
  /** Per target token: its id and text, log p(token | prefix), and the model's argmax there. */
  tokens: { id: number; text: string; logProb: number; argmaxId: number }[];
  /** Sum of the target tokens' log-probabilities. */
  logProb: number;
}

export interface GenerateOptions {
  maxNewTokens?: number;
  /** 0 (default): greedy. Otherwise sample from softmax(logits / temperature). */
  temperature?: number;
  /** Sample among the k most likely tokens only. */
  topK?: number;
  seed?: number;
  stopAtEos?: boolean;
}

/**
 * A causal LM with its tokenizer: next-token distributions, teacher-forced scores of target
 * continuations, and generation with a KV cache, for one prompt or a padded batch.
 */
export class LanguageModel implements EditableLM {
  readonly architecture = 'decoder-only' as const;

  constructor(
    readonly network: CausalLM,
    readonly tokenizer: TextTokenizer,
  ) {}

  /** The whole model is the edit stack (../models/editable.ts). */
  get editSpec(): EditStackSpec {
    const { family, layers, hidden, mlpHidden, vocabSize, maxPositions } = this.network.spec;
    return { family, layers, hidden, mlpHidden, vocabSize, maxPositions };
  }

  mlpOutWeight(layer: number): { name: string; transposed: boolean } {
    return this.network.mlpOutWeight(layer);
  }

  mlpInWeight(layer: number): { name: string; transposed: boolean } {
    return this.network.mlpInWeight(layer);
  }

  inputEmbedding(): Tensor {
    return inputEmbedding(this.network);
  }

  layout(seqs: readonly PromptIds[]): { width: number; row(b: number, j: number): number } {
    const width = Math.max(...seqs.map((s) => s.prompt.length + s.continuation.length));
    return { width, row: (b, j) => b * width + seqs[b]!.prompt.length - 1 + j };
  }

  /** prompt ++ continuation per sequence, right-padded; continuation token j is predicted at prompt.length − 1 + j. */
  teacherForced(seqs: readonly PromptIds[], hooks?: Hooks): StackRun & { logits: Tensor } {
    const ids = seqs.map((s) => [...s.prompt, ...s.continuation]);
    const { logits, mask } = this.forwardPadded(ids, 'right', hooks);
    return { logits, mask, row: this.layout(seqs).row };
  }

  stackToLayer(seqs: readonly PromptIds[], layer: number, hooks: Hooks): StackRun & { residual: Tensor } {
    const { residual, mask } = this.runToLayer(
      seqs.map((s) => [...s.prompt, ...s.continuation]),
      layer,
      hooks,
    );
    return { residual, mask, row: this.layout(seqs).row };
  }

  head(residual: Tensor): Tensor {
    return this.network.head(residual);
  }

  /** The residual after `layer` over each prompt's tokens (right-padded). */
  promptStates(prompts: readonly string[], layer: number): { states: Tensor; mask: number[][] } {
    const { residual, mask } = this.runToLayer(
      prompts.map((p) => this.encode(p)),
      layer,
      new Hooks(),
    );
    return { states: residual, mask };
  }

  textIds(text: string): PromptIds {
    return { prompt: this.encode(text).slice(0, this.network.spec.maxPositions), continuation: [] };
  }

  /**
   * Token embeddings e_t, read at the 'embed' hook of one-token sequences at position 0. Models that
   * add a learned position embedding there (GPT-2) add the same wpe[0] to each, which cancels in a
   * difference of two (KN's e_new − e_old), so no family needs to expose its embedding table.
   */
  tokenEmbeddings(ids: readonly number[]): Float32Array[] {
    const d = this.network.spec.hidden;
    const values = this.inference(() => {
      const captured = new Map<string, Tensor>();
      this.runToLayer(
        ids.map((id) => [id]),
        0,
        new Hooks().on('embed', 0, captureInto(captured)),
      );
      const e = captured.get('embed.0')!;
      const out = e.valuesSync().slice() as Float32Array; // [n, 1, D]
      e.dispose();
      return out;
    });
    return ids.map((_, b) => values.slice(b * d, (b + 1) * d));
  }

  get engine(): Engine {
    return this.network.engine;
  }

  encode(text: string): number[] {
    return this.tokenizer.encode(text).ids;
  }

  /** The k most likely next tokens after each prompt (batched, right-padded); routed through the edit memory unless hooks are given. */
  topK(prompts: readonly string[], k = 10, hooks?: Hooks): TokenProb[][] {
    if (hooks || !this.network.memory.size) return this.ownTopK(prompts, k, hooks);
    return this.network.memory.dispatch(
      prompts,
      (idx) => this.ownTopK(idx.map((i) => prompts[i]!), k),
      (router, items) => router.topK(items, k),
    );
  }

  private ownTopK(prompts: readonly string[], k: number, hooks?: Hooks): TokenProb[][] {
    const seqs = prompts.map((p) => this.encode(p));
    const lastLogProbs = this.inference(() => {
      const { logits } = this.forwardPadded(seqs, 'right', hooks);
      const rows = seqs.map((s, b) => narrow(narrow(logits, 0, b, 1), 1, s.length - 1, 1));
      return rows.map((r) => logSoftmax(reshape(r, [-1])).valuesSync().subarray(0, this.namedIds()));
    });
    return lastLogProbs.map((lp) => topEntries(lp, k).map(([id, logProb]) => ({ id, token: this.tokenizer.decode([id]), prob: Math.exp(logProb) })));
  }

  /**
   * Teacher-forced log-probabilities of `target` after `prompt`, for each pair. The target is
   * tokenised on its own and appended to the prompt's tokens, as EasyEdit and ROME do, so write it
   * with its leading space (" Paris"). Routed through the edit memory unless hooks are given.
   */
  score(pairs: readonly { prompt: string; target: string }[], hooks?: Hooks): TargetScore[] {
    if (hooks || !this.network.memory.size) return this.ownScore(pairs, hooks);
    return this.network.memory.dispatch(
      pairs.map((p) => p.prompt),
      (idx) => this.ownScore(idx.map((i) => pairs[i]!)),
      (router, items, idx) => router.score(items.map((item, k) => ({ ...item, target: pairs[idx[k]!]!.target }))),
    );
  }

  private ownScore(pairs: readonly { prompt: string; target: string }[], hooks?: Hooks): TargetScore[] {
    const parts = pairs.map(({ prompt, target }) => ({
      prompt: this.encode(prompt),
      target: this.tokenizer.encode(target, { addSpecialTokens: false }).ids,
    }));
    for (const [i, p] of parts.entries()) if (!p.target.length) throw new Error(`score: target ${JSON.stringify(pairs[i]!.target)} has no tokens`);
    const seqs = parts.map((p) => [...p.prompt, ...p.target]);
    const vocab = this.network.spec.vocabSize;
    const width = Math.max(...seqs.map((s) => s.length));
    // only the rows that predict target tokens leave the backend: [targets, V], not [B, T, V]
    const rows = parts.flatMap((p, b) => p.target.map((_, j) => b * width + p.prompt.length - 1 + j));
    const values = this.inference(() => {
      const { logits } = this.forwardPadded(seqs, 'right', hooks);
      const picked = indexSelect(reshape(logits, [-1, vocab]), 0, this.engine.tensor(Int32Array.from(rows), [rows.length], 'i32'));
      return logSoftmax(picked).valuesSync();
    });
    let next = 0;
    return parts.map((p) => {
      const tokens = p.target.map((id) => {
        const row = next++ * vocab;
        const slice = values.subarray(row, row + vocab);
        return { id, text: this.tokenizer.decode([id]), logProb: slice[id]!, argmaxId: argmax(slice) };
      });
      return { tokens, logProb: tokens.reduce((s, t) => s + t.logProb, 0) };
    });
  }

  /** exp(mean NLL) of the text's tokens after the first, teacher-forced in one pass. */
  perplexity(text: string): number {
    const ids = this.encode(text);
    if (ids.length < 2) throw new Error('perplexity: the text needs at least two tokens');
    const nll = this.inference(() => {
      const input = this.engine.tensor(Int32Array.from(ids.slice(0, -1)), [1, ids.length - 1], 'i32');
      const targets = this.engine.tensor(Int32Array.from(ids.slice(1)), [1, ids.length - 1], 'i32');
      return crossEntropy(this.network.forward({ ids: input }).logits, targets).valuesSync()[0]!;
    });
    return Math.exp(nll);
  }

  /**
   * Ids the tokenizer can name: an embedding may have more rows than the tokenizer has tokens (a
   * padded vocabulary, or a random model read with a smaller tokenizer); predictions and
   * generations stay among the named ones.
   */
  private namedIds(): number {
    return Math.min(this.network.spec.vocabSize, this.tokenizer.vocabSize);
  }

  /** Continues each prompt (left-padded batch) with a KV cache; returns the new text. Routed through the edit memory. */
  generate(prompts: readonly string[], opts: GenerateOptions = {}): string[] {
    if (!this.network.memory.size) return this.ownGenerate(prompts, opts);
    return this.network.memory.dispatch(
      prompts,
      (idx) => this.ownGenerate(idx.map((i) => prompts[i]!), opts),
      (router, items) => router.generate(items, opts),
    );
  }

  private ownGenerate(prompts: readonly string[], opts: GenerateOptions): string[] {
    const { maxNewTokens = 20, temperature = 0, topK, seed = 0, stopAtEos = true } = opts;
    const random = mulberry32(seed);
    const seqs = prompts.map((p) => this.encode(p));
    const cache = new KVCache(this.network.spec.layers);
    const out: number[][] = seqs.map(() => []);
    const done = seqs.map(() => false);
    try {
      let step = this.inference(() => lastRows(this.forwardPadded(seqs, 'left', undefined, cache).logits));
      for (let n = 0; n < maxNewTokens && !done.every(Boolean); n++) {
        const next = step.map((logits) => pick(logits.subarray(0, this.namedIds()), temperature, topK, random));
        next.forEach((id, b) => {
          if (done[b]) return;
          if (stopAtEos && id === this.tokenizer.eosId) done[b] = true;
          else out[b]!.push(id);
        });
        if (n === maxNewTokens - 1 || done.every(Boolean)) break;
        step = this.inference(() => {
          const ids = this.engine.tensor(Int32Array.from(next), [next.length, 1], 'i32');
          const mask = done.map(() => [1]);
          return lastRows(this.network.forward({ ids, attentionMask: mask, cache }).logits);
        });
      }
    } finally {
      cache.dispose();
    }
    return out.map((ids) => this.tokenizer.decode(ids, { skipSpecialTokens: true }));
  }

  /** Runs `fn` in a scope without recording gradients: reading the model, not training it. */
  private inference<T>(fn: () => T): T {
    return this.engine.noGrad(() => this.engine.tidy(fn));
  }

  /** Forward over token sequences of different lengths, padded on one side. */
  forwardPadded(seqs: readonly number[][], side: 'left' | 'right', hooks?: Hooks, cache?: KVCache): { logits: Tensor; mask: number[][] } {
    const { input, mask } = this.padded(seqs, side);
    return { logits: this.network.forward({ ids: input, attentionMask: mask, hooks, cache }).logits, mask };
  }

  /** Runs padded sequences (right) up to `layer` only (for hooks at or below it); returns the mask.
   * `from` starts at a lower block with its residual, as ForwardInput.from; `cache` holds earlier
   * tokens' keys and values (the sequences continue them), as ForwardInput.cache. */
  runToLayer(seqs: readonly number[][], layer: number, hooks: Hooks, from?: ForwardInput['from'], cache?: KVCache): { residual: Tensor; mask: number[][] } {
    const { input, mask } = this.padded(seqs, 'right');
    return { residual: this.network.residual({ ids: input, attentionMask: mask, hooks, from, cache }, layer), mask };
  }

  private padded(seqs: readonly number[][], side: 'left' | 'right'): { input: Tensor; mask: number[][] } {
    const width = Math.max(...seqs.map((s) => s.length));
    if (width === 0) throw new Error('forward: empty prompt');
    const pad = this.tokenizer.padId ?? this.tokenizer.eosId ?? 0;
    const ids = new Int32Array(seqs.length * width).fill(pad);
    const mask = seqs.map((s, b) => {
      const offset = side === 'left' ? width - s.length : 0;
      ids.set(s, b * width + offset);
      return Array.from({ length: width }, (_, j) => (j >= offset && j < offset + s.length ? 1 : 0));
    });
    return { input: this.engine.tensor(ids, [seqs.length, width], 'i32'), mask };
  }
}

/** The last position's logits per sequence, read to the host. */
function lastRows(logits: Tensor): Float32Array[] {
  const [b, t, v] = logits.shape as [number, number, number];
  const values = narrow(logits, 1, t - 1, 1).valuesSync() as Float32Array;
  return Array.from({ length: b }, (_, i) => values.slice(i * v, (i + 1) * v));
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/** The k largest entries as [index, value], largest first. */
export function topEntries(values: ArrayLike<number>, k: number): [number, number][] {
  if (k >= values.length / 8) {
    const idx = Array.from({ length: values.length }, (_, i) => i);
    idx.sort((a, b) => values[b]! - values[a]!);
    return idx.slice(0, k).map((i) => [i, values[i]!]);
  }
  // few of many (top-k of a vocabulary): one pass keeping a small sorted list
  const best: [number, number][] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (best.length === k && v <= best[k - 1]![1]) continue;
    let j = best.length < k ? best.length : k - 1;
    while (j > 0 && best[j - 1]![1] < v) j--;
    best.splice(j, 0, [i, v]);
    if (best.length > k) best.pop();
  }
  return best;
}

function pick(logits: Float32Array, temperature: number, topK: number | undefined, random: () => number): number {
  if (temperature <= 0) return argmax(logits);
  const candidates = topEntries(logits, topK ?? logits.length);
  const max = candidates[0]![1];
  const weights = candidates.map(([, l]) => Math.exp((l - max) / temperature));
  let r = random() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < candidates.length; i++) {
    r -= weights[i]!;
    if (r <= 0) return candidates[i]![0];
  }
  return candidates[candidates.length - 1]![0];
}
