/**
 * SERAC's trained networks (eric-mitchell/serac, algs/serac.py) and the router that uses them.
 *
 * - The scope classifier, an embedding classifier: an input and an edit's prompt are each embedded
 *   (the base model's hidden states at one layer, attention-pooled, beside the last token's state,
 *   through a small MLP, unit length) and the scope probability is σ(s · cos + t · m + b), where m
 *   is 1 when the input names the edit's subject (its exact text) and 0 otherwise. SERAC fine-tunes
 *   a DistilBERT for this; here the base model is the (frozen) reader and the head is what is
 *   trained. Without m, subjects never seen in training were told apart poorly: on the world model,
 *   other subjects with the same relation (CounterFact's neighbours) fell in an edit's scope often
 *   enough to hold locality at 78-83 (README.md).
 * - The counterfactual model answers an input in an edit's scope given the edit. SERAC fine-tunes a
 *   small pretrained LM on "<edit> <input>"; here it is the base model itself reading
 *   "<edit prompt> <new target>. <input>", with a copy pointer over the edit's target tokens
 *   (a pointer-generator): p(y_j) = (1 − g) · p_LM(y_j | edit, input, y_<j) + g · [y_j = c_j],
 *   where c is the edit's target and the pointer follows it while y_<j = c_<j. The gate g is a trained
 *   function of the two embeddings: near 1 where the input asks the edited fact itself (prompt,
 *   paraphrases), near 0 where its answer only follows from it (portability) or it is another fact.
 *   Why not a fine-tuned copy: the world model reading the edit as context still answers the fact it
 *   memorised, and 150 steps of fine-tuning a copy at lr 1e-3 left the in-scope NLL at 3.4 while the
 *   out-of-scope NLL rose from 0.007 to 3.0 (server/editing/serac/README.md).
 */
import { gaussianArray } from '../../../lib/random';
import type { Engine, Tensor } from '../../engine';
import { add, addMask, addScalar, concat, gelu, indexSelect, layerNorm, logSoftmax, matmul, mul, mulScalar, permute, reshape, rsqrt, softmax, sum } from '../../engine/ops';
import type { EditableLM, PromptIds } from '../../models/editable';
import type { MemoryEntry, MemoryRouter, Routed } from '../../models/edit-memory';
import type { TargetScore, TokenProb } from '../../models/lm';
import { topEntries } from '../../models/lm';
import type { SeracHparams } from './hparams';

/** The counterfactual model's context: the edit as a sentence, then the input. */
export function counterfactualInput(entry: MemoryEntry, prompt: string): string {
  const target = /^\s/.test(entry.target) || /\s$/.test(entry.prompt) ? entry.target : ` ${entry.target}`;
  return `${entry.prompt}${target}. ${prompt}`;
}

interface Linear {
  weight: Tensor; // [out, in]
  bias: Tensor; // [out]
}

function linear(engine: Engine, inDim: number, outDim: number, seed: number): Linear {
  return { weight: engine.parameter(gaussianArray(outDim * inDim, seed, 0, 1 / Math.sqrt(inDim)), [outDim, inDim]), bias: engine.parameter(new Float32Array(outDim), [outDim]) };
}

const apply = (l: Linear, x: Tensor): Tensor => add(matmul(x, l.weight, { transB: true }), l.bias);

type Shape = Pick<SeracHparams, 'heads' | 'width' | 'gateHidden' | 'seed'>;

/** Embeds prompts from their hidden states; scores (entry, input) pairs for scope and for copying. */
export class SeracNetworks {
  private readonly gamma: Tensor;
  private readonly beta: Tensor;
  /** Attention-pooling queries [heads, D]. */
  private readonly queries: Tensor;
  private readonly first: Linear;
  private readonly second: Linear;
  /** s, t and b of σ(s · cos + t · m + b). */
  readonly scale: Tensor;
  readonly matchWeight: Tensor;
  readonly offset: Tensor;
  private readonly gateFirst: Linear;
  private readonly gateSecond: Linear;
  private readonly routers = new Map<EditableLM, Map<string, SeracRouter>>();

  constructor(
    private readonly engine: Engine,
    hidden: number,
    readonly hp: Shape & Pick<SeracHparams, 'layers'>,
  ) {
    const D = hidden;
    this.gamma = engine.parameter(new Float32Array(D).fill(1), [D]);
    this.beta = engine.parameter(new Float32Array(D), [D]);
    this.queries = engine.parameter(gaussianArray(hp.heads * D, hp.seed + 101, 0, 1 / Math.sqrt(D)), [hp.heads, D]);
    this.first = linear(engine, (hp.heads + 1) * D, hp.width, hp.seed + 103);
    this.second = linear(engine, hp.width, hp.width, hp.seed + 105);
    // cos 0.5 at probability 0.5 to start
    this.scale = engine.parameter(Float32Array.of(10), [1]);
    this.matchWeight = engine.parameter(Float32Array.of(0), [1]);
    this.offset = engine.parameter(Float32Array.of(-5), [1]);
    this.gateFirst = linear(engine, 2 * hp.width + 1, hp.gateHidden, hp.seed + 107);
    this.gateSecond = linear(engine, hp.gateHidden, 1, hp.seed + 109);
  }

  private named(): [string, Tensor][] {
    const lin = (name: string, l: Linear): [string, Tensor][] => [
      [`${name}.weight`, l.weight],
      [`${name}.bias`, l.bias],
    ];
    return [
      ['gamma', this.gamma],
      ['beta', this.beta],
      ['queries', this.queries],
      ...lin('first', this.first),
      ...lin('second', this.second),
      ['scale', this.scale],
      ['matchWeight', this.matchWeight],
      ['offset', this.offset],
      ...lin('gate.first', this.gateFirst),
      ...lin('gate.second', this.gateSecond),
    ];
  }

  parameters(): Tensor[] {
    return this.named().map(([, t]) => t);
  }

  /** Unit-length embeddings [B, width] of hidden states [B, T, D] (right-padded, `mask` 1 for real tokens). */
  embed(states: Tensor, mask: readonly (readonly number[])[]): Tensor {
    const e = this.engine;
    const [B, T, D] = states.shape as [number, number, number];
    const x = layerNorm(states, this.gamma, this.beta);
    const scores = permute(mulScalar(matmul(x, this.queries, { transB: true }), 1 / Math.sqrt(D)), [0, 2, 1]); // [B, H, T]
    const padding = e.tensor(Float32Array.from(mask.flatMap((row) => row.map((m) => (m ? 0 : -1e9)))), [B, 1, T]);
    const pooled = reshape(matmul(softmax(addMask(scores, padding)), x), [B, -1]); // [B, H·D]
    const lastRows = Int32Array.from(mask.map((row, b) => b * T + row.reduce((n, m) => n + m, 0) - 1));
    const last = indexSelect(reshape(x, [B * T, D]), 0, e.tensor(lastRows, [B], 'i32')); // [B, D]
    const y = apply(this.second, gelu(apply(this.first, concat([pooled, last], 1))));
    return mul(y, rsqrt(addScalar(sum(mul(y, y), -1, true), 1e-12)));
  }

  /** Scope logits s · cos + t · m + b, [entries, inputs], from unit-length embeddings and subject matches m [entries, inputs]. */
  scopeLogits(entries: Tensor, inputs: Tensor, match: Tensor): Tensor {
    return add(add(mul(matmul(entries, inputs, { transB: true }), this.scale), mul(match, this.matchWeight)), this.offset);
  }

  /** Copy-gate logits [N] of N (entry, input) embedding pairs and their subject matches [N, 1]. */
  gateLogits(entries: Tensor, inputs: Tensor, match: Tensor): Tensor {
    const h = gelu(apply(this.gateFirst, concat([mul(entries, inputs), inputs, match], 1)));
    return reshape(apply(this.gateSecond, h), [-1]);
  }

  /** Embeddings of texts, in batches, through the base model's hidden states at the classifier's layer. */
  embedTexts(base: EditableLM, texts: readonly string[], batch = 32): Float32Array[] {
    const e = base.engine;
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += batch) {
      const chunk = texts.slice(i, i + batch);
      const values = e.noGrad(() =>
        e.tidy(() => {
          const { states, mask } = base.promptStates(chunk, this.hp.layers[0]!);
          return this.embed(states, mask).valuesSync();
        }),
      );
      const w = values.length / chunk.length;
      chunk.forEach((_, j) => out.push(Float32Array.from(values.subarray(j * w, (j + 1) * w))));
    }
    return out;
  }

  /** Copy gates σ(logit) of (entry, input) embedding pairs with their subject matches. */
  gates(entries: readonly Float32Array[], inputs: readonly Float32Array[], matches: readonly number[]): number[] {
    if (!entries.length) return [];
    const e = this.engine;
    const w = this.hp.width;
    const stack = (rows: readonly Float32Array[]) => {
      const flat = new Float32Array(rows.length * w);
      rows.forEach((r, i) => flat.set(r, i * w));
      return e.tensor(flat, [rows.length, w]);
    };
    const z = e.noGrad(() => e.tidy(() => this.gateLogits(stack(entries), stack(inputs), e.tensor(Float32Array.from(matches), [matches.length, 1])).valuesSync()));
    return Array.from(z, (v) => 1 / (1 + Math.exp(-v)));
  }

  values(): Map<string, Float32Array> {
    return new Map(this.named().map(([name, t]) => [name, Float32Array.from(t.valuesSync())]));
  }

  load(values: ReadonlyMap<string, Float32Array>): void {
    for (const [name, t] of this.named()) {
      const v = values.get(name);
      if (!v || v.length !== t.size) throw new Error(`SERAC: the trained file has ${v ? `${v.length} numbers` : 'nothing'} for ${name} (${t.size} expected)`);
      const next = t.engine.tensor(v, t.shape);
      t.assign(next);
      next.dispose();
    }
  }

  /** The router over `base` with this threshold: one object per pair, so memory groups that share it are judged together. */
  routerFor(base: EditableLM, threshold: number): SeracRouter {
    const byThreshold = this.routers.get(base) ?? new Map<string, SeracRouter>();
    this.routers.set(base, byThreshold);
    let router = byThreshold.get(String(threshold));
    if (!router) byThreshold.set(String(threshold), (router = new SeracRouter(base, this, threshold)));
    return router;
  }

  dispose(): void {
    for (const t of this.parameters()) t.dispose();
    this.routers.clear();
  }
}

/** Embeddings kept by text, up to a bound (then started afresh). */
class EmbeddingCache {
  private readonly map = new Map<string, Float32Array>();

  constructor(private readonly bound: number) {}

  get(texts: readonly string[], compute: (missing: string[]) => Float32Array[]): Float32Array[] {
    const missing = [...new Set(texts.filter((t) => !this.map.has(t)))];
    if (this.map.size + missing.length > this.bound) this.map.clear();
    compute(missing).forEach((v, i) => this.map.set(missing[i]!, v));
    return texts.map((t) => this.map.get(t) ?? compute([t])[0]!);
  }
}

/** SERAC at inference: scope probabilities from the classifier; the pointer-generator answers. */
export class SeracRouter implements MemoryRouter {
  private readonly entries = new EmbeddingCache(100_000);
  private readonly inputs = new EmbeddingCache(20_000);
  private readonly scale: number;
  private readonly matchWeight: number;
  private readonly offset: number;

  constructor(
    private readonly base: EditableLM,
    private readonly nets: SeracNetworks,
    readonly threshold: number,
  ) {
    this.scale = nets.scale.valuesSync()[0]!;
    this.matchWeight = nets.matchWeight.valuesSync()[0]!;
    this.offset = nets.offset.valuesSync()[0]!;
  }

  private embed(cache: EmbeddingCache, texts: readonly string[]): Float32Array[] {
    return cache.get(texts, (missing) => this.nets.embedTexts(this.base, missing));
  }

  /** Embeds entries ahead of their first routing (an edit's own work). */
  remember(entries: readonly MemoryEntry[]): void {
    this.embed(
      this.entries,
      entries.map((e) => e.prompt),
    );
  }

  scope(entries: readonly MemoryEntry[], prompts: readonly string[]): Float32Array[] {
    const keys = this.embed(
      this.entries,
      entries.map((e) => e.prompt),
    );
    return this.embed(this.inputs, prompts).map((x, i) => Float32Array.from(keys, (k, j) => 1 / (1 + Math.exp(-(this.scale * dot(k, x) + this.matchWeight * subjectMatch(entries[j]!.subject, prompts[i]!) + this.offset)))));
  }

  /** The copy gate of each routed input. */
  private gates(items: readonly Routed[]): number[] {
    const entries = this.embed(
      this.entries,
      items.map((it) => it.entry.prompt),
    );
    return this.nets.gates(
      entries,
      this.embed(
        this.inputs,
        items.map((it) => it.prompt),
      ),
      items.map((it) => subjectMatch(it.entry.subject, it.prompt)),
    );
  }

  private ids(text: string): number[] {
    return this.base.tokenizer.encode(text, { addSpecialTokens: false }).ids;
  }

  /**
   * Log-probabilities of the base model reading each item's edit and input, at the position after
   * `continuations[b]`: [items][V].
   */
  private nextLogProbs(items: readonly Routed[], continuations: readonly (readonly number[])[]): Float32Array[] {
    const lm = this.base;
    const seqs: PromptIds[] = items.map((it, b) => ({ prompt: lm.encode(counterfactualInput(it.entry, it.prompt)), continuation: [...continuations[b]!] }));
    return this.rows(
      seqs,
      seqs.map((s, b) => [b, s.continuation.length]),
    );
  }

  /**
   * Log-softmax rows of a teacher-forced pass (the model's own forward: never routed) at (sequence b,
   * position j) pairs: the row predicting continuation token j, or for j = continuation.length, the
   * token after the continuation.
   */
  private rows(seqs: readonly PromptIds[], at: readonly [number, number][]): Float32Array[] {
    const lm = this.base;
    const e = lm.engine;
    const vocab = lm.editSpec.vocabSize;
    const values = e.noGrad(() =>
      e.tidy(() => {
        const { logits, row } = lm.teacherForced(seqs);
        const index = Int32Array.from(at, ([b, j]) => row(b, j));
        return logSoftmax(indexSelect(reshape(logits, [-1, vocab]), 0, e.tensor(index, [index.length], 'i32'))).valuesSync() as Float32Array;
      }),
    );
    return at.map((_, k) => values.subarray(k * vocab, (k + 1) * vocab));
  }

  score(items: readonly (Routed & { target: string })[]): TargetScore[] {
    const lm = this.base;
    const gates = this.gates(items);
    const parts = items.map((it) => {
      const target = this.ids(it.target);
      if (!target.length) throw new Error(`score: target ${JSON.stringify(it.target)} has no tokens`);
      return { context: lm.encode(counterfactualInput(it.entry, it.prompt)), target, copy: this.ids(it.entry.target) };
    });
    const seqs: PromptIds[] = parts.map((p) => ({ prompt: p.context, continuation: p.target.slice(0, -1) }));
    const at = parts.flatMap((p, b) => p.target.map((_, j): [number, number] => [b, j]));
    const rows = this.rows(seqs, at);
    let next = 0;
    return parts.map((p, b) => {
      const g = gates[b]!;
      const tokens = p.target.map((id, j) => {
        const lp = rows[next++]!;
        const c = copyAt(p.copy, p.target.slice(0, j), j);
        const mixed = (token: number) => (c === null ? Math.exp(lp[token]!) : (1 - g) * Math.exp(lp[token]!) + (token === c ? g : 0));
        const best = argmax(lp);
        const argmaxId = c !== null && mixed(c) >= mixed(best) ? c : best;
        return { id, text: lm.tokenizer.decode([id]), logProb: Math.log(mixed(id)), argmaxId };
      });
      return { tokens, logProb: tokens.reduce((s, t) => s + t.logProb, 0) };
    });
  }

  topK(items: readonly Routed[], k: number): TokenProb[][] {
    const lm = this.base;
    const gates = this.gates(items);
    const named = Math.min(lm.editSpec.vocabSize, lm.tokenizer.vocabSize);
    return this.nextLogProbs(
      items,
      items.map(() => []),
    ).map((lp, b) => {
      const c = this.ids(items[b]!.entry.target)[0];
      const p = Float32Array.from(lp.subarray(0, named), (v) => (1 - gates[b]!) * Math.exp(v));
      if (c !== undefined && c < named) p[c] = p[c]! + gates[b]!;
      return topEntries(p, k).map(([id, prob]) => ({ id, token: lm.tokenizer.decode([id]), prob }));
    });
  }

  generate(items: readonly Routed[], opts: { maxNewTokens?: number } = {}): string[] {
    const lm = this.base;
    const maxNewTokens = opts.maxNewTokens ?? 20;
    const gates = this.gates(items);
    const copies = items.map((it) => this.ids(it.entry.target));
    const named = Math.min(lm.editSpec.vocabSize, lm.tokenizer.vocabSize);
    const out: number[][] = items.map(() => []);
    let live = items.map((_, b) => b);
    for (let n = 0; n < maxNewTokens && live.length; n++) {
      const rows = this.nextLogProbs(
        live.map((b) => items[b]!),
        live.map((b) => out[b]!),
      );
      live = live.filter((b, k) => {
        const lp = rows[k]!.subarray(0, named);
        const c = copyAt(copies[b]!, out[b]!, out[b]!.length);
        const best = argmax(lp);
        const g = gates[b]!;
        const id = c !== null && c < named && (1 - g) * Math.exp(lp[c]!) + g >= (1 - g) * Math.exp(lp[best]!) ? c : best;
        if (id === lm.tokenizer.eosId) return false;
        out[b]!.push(id);
        return true;
      });
    }
    return out.map((ids) => lm.tokenizer.decode(ids, { skipSpecialTokens: true }));
  }
}

/** 1 when the text names the subject (its exact text, as a whole word sequence), else 0. */
export function subjectMatch(subject: string | undefined, text: string): number {
  if (!subject) return 0;
  let at = text.indexOf(subject);
  while (at >= 0) {
    const before = at === 0 ? '' : text[at - 1]!;
    const after = text[at + subject.length] ?? '';
    if (!/[\p{L}\p{N}]/u.test(before) && !/[\p{L}\p{N}]/u.test(after)) return 1;
    at = text.indexOf(subject, at + 1);
  }
  return 0;
}

/** The copy pointer's token at continuation position j, while what came before follows the copy; else null. */
export function copyAt(copy: readonly number[], before: readonly number[], j: number): number | null {
  if (j >= copy.length) return null;
  for (let i = 0; i < j; i++) if (before[i] !== copy[i]) return null;
  return copy[j]!;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
