/**
 * T5 (Raffel et al. 2020, "Exploring the Limits of Transfer Learning with a Unified Text-to-Text
 * Transformer", https://arxiv.org/abs/1910.10683), v1.0 and v1.1, as Hugging Face's
 * modeling_t5.py computes it (checked against it by reference/make_t5_fixtures.py):
 *   - an encoder and a decoder stack sharing one token embedding, no absolute positions;
 *   - relative position buckets (bidirectional in the encoder, causal in the decoder), a learned
 *     bias [buckets, heads] held by block 0 of each stack and shared by all its blocks;
 *   - T5's layer norm: x * rsqrt(mean(x^2) + eps) * gain (no mean, no bias): our rmsNorm;
 *   - no 1/sqrt(d_kv) in attention (T5 folds it into the initialisation);
 *   - FFN: v1.0 wo(relu(wi x)); v1.1 wo(gelu_new(wi_0 x) * wi_1 x) ("gated-gelu" means the tanh
 *     approximation, a transformers compatibility rule); the FFN key is what wo reads;
 *   - head: v1.0 ties it to the embedding and scales the decoder output by d_model^-0.5 first;
 *     v1.1 has an untied lm_head and no scale.
 * The encoder-decoder interface and its hooks are described in ../seq2seq.ts.
 */
import { z } from 'zod';
import type { Engine, Tensor } from '../../engine';
import { add, addMask, embedding, gelu, matmul, mul, mulScalar, permute, relu, reshape, rmsNorm, silu, softmax } from '../../engine/ops';
import { EditMemory } from '../edit-memory';
import { AddedSlots } from '../ffn-slots';
import { Hooks } from '../hooks';
import { linear, mergeHeads, positional, splitHeads } from '../network';
import type { DecodeInput, Encoded, EncodeInput, EncoderDecoderLM, Seq2SeqForwardInput, Seq2SeqSpec, Stack } from '../seq2seq';
import { Seq2SeqCache } from '../seq2seq';
import type { WeightLoader } from '../weights';

export const T5Config = z.looseObject({
  model_type: z.literal('t5'),
  vocab_size: z.number().int().positive(),
  d_model: z.number().int().positive(),
  d_kv: z.number().int().positive(),
  d_ff: z.number().int().positive(),
  num_layers: z.number().int().positive(),
  num_decoder_layers: z.number().int().positive().nullish(),
  num_heads: z.number().int().positive(),
  relative_attention_num_buckets: z.number().int().positive().default(32),
  relative_attention_max_distance: z.number().int().positive().default(128),
  layer_norm_epsilon: z.number().positive().default(1e-6),
  feed_forward_proj: z
    .string()
    .regex(/^(gated-)?(relu|gelu|gelu_new|silu)$/, "expected 'act' or 'gated-act' with act one of relu, gelu, gelu_new, silu")
    .default('relu'),
  tie_word_embeddings: z.boolean().default(true),
  pad_token_id: z.number().int().nonnegative().default(0),
  eos_token_id: z.number().int().nonnegative().default(1),
  decoder_start_token_id: z.number().int().nonnegative().nullish(),
});
export type T5Config = z.infer<typeof T5Config>;

type Activation = (x: Tensor) => Tensor;

/** feed_forward_proj -> activation and whether the FFN is gated, as transformers reads it. */
function feedForward(proj: string): { act: Activation; gated: boolean } {
  const parts = proj.split('-');
  const gated = parts[0] === 'gated';
  if (parts.length > 2 || (parts.length === 2 && !gated)) throw new Error(`t5: feed_forward_proj '${proj}' is not 'act' or 'gated-act'`);
  const name = parts[parts.length - 1]!;
  // transformers maps "gated-gelu" to gelu_new (tanh) so that the released v1.1 checkpoints keep
  // their behaviour; a plain "gelu" is the exact (erf) form
  const acts: Record<string, Activation> = {
    relu,
    gelu: proj === 'gated-gelu' ? (x) => gelu(x, 'tanh') : (x) => gelu(x, 'erf'),
    gelu_new: (x) => gelu(x, 'tanh'),
    silu,
  };
  const act = acts[name];
  if (!act) throw new Error(`t5: activation '${name}' (feed_forward_proj '${proj}') is not supported; supported: ${Object.keys(acts).join(', ')}`);
  return { act, gated };
}

/**
 * T5's relative position bucket of (key position - query position). Half the buckets hold exact
 * small distances, the rest grow logarithmically up to `maxDistance`, beyond which all share the
 * last. Bidirectional splits the buckets between keys before and after the query; causal uses
 * them all for keys before it. The log branch is computed in float32 steps, as PyTorch computes it
 * before truncating to an integer (float64 gave the same buckets for |distance| <= 5000 with the
 * settings of released checkpoints, but a boundary case would differ); t5.test.ts checks -160..160
 * against PyTorch.
 */
export function relativePositionBucket(relative: number, bidirectional: boolean, numBuckets: number, maxDistance: number): number {
  let buckets = numBuckets;
  let bucket = 0;
  let distance: number;
  if (bidirectional) {
    buckets = Math.floor(buckets / 2);
    if (relative > 0) bucket += buckets;
    distance = Math.abs(relative);
  } else {
    distance = -Math.min(relative, 0);
  }
  const maxExact = Math.floor(buckets / 2);
  if (distance < maxExact) return bucket + distance;
  const f = Math.fround;
  const scaled = f(f(f(Math.log(f(distance / maxExact))) / f(Math.log(maxDistance / maxExact))) * (buckets - maxExact));
  return bucket + Math.min(maxExact + Math.trunc(scaled), buckets - 1);
}

interface AttentionWeights {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  o: Tensor;
}

interface FfnWeights {
  /** wi (v1.0) or wi_0 (gated) */
  wi: Tensor;
  /** wi_1 of a gated FFN */
  gate: Tensor | null;
  wo: Tensor;
}

interface Block {
  selfNorm: Tensor;
  self: AttentionWeights;
  crossNorm: Tensor | null;
  cross: AttentionWeights | null;
  ffnNorm: Tensor;
  ffn: FfnWeights;
}

const NO_HOOKS = new Hooks();

class T5Model implements EncoderDecoderLM {
  /** FFN slots beside the decoder's FFNs (T-Patcher, CaliNET): the decoder is the edit stack. */
  readonly slots: AddedSlots;
  readonly memory = new EditMemory();

  constructor(
    readonly engine: Engine,
    readonly spec: Seq2SeqSpec,
    readonly params: ReadonlyMap<string, Tensor>,
    private readonly w: {
      shared: Tensor;
      lmHead: Tensor;
      /** d_model^-0.5 with tied embeddings (v1.0), 1 otherwise */
      headScale: number;
      encoder: { blocks: Block[]; bias: Tensor; finalNorm: Tensor };
      decoder: { blocks: Block[]; bias: Tensor; finalNorm: Tensor };
      act: Activation;
      gated: boolean;
      eps: number;
      buckets: number;
      maxDistance: number;
    },
  ) {
    this.slots = new AddedSlots(engine, { layers: spec.decoderLayers, hidden: spec.hidden });
  }

  mlpOutWeight(stack: Stack, layer: number) {
    const layers = stack === 'encoder' ? this.spec.encoderLayers : this.spec.decoderLayers;
    if (layer < 0 || layer >= layers) throw new Error(`${stack} layer ${layer} out of range: the ${stack} has ${layers}`);
    return { name: `${stack}.block.${layer}.layer.${stack === 'encoder' ? 1 : 2}.DenseReluDense.wo.weight`, transposed: false };
  }

  mlpInWeight(stack: Stack, layer: number) {
    const { name } = this.mlpOutWeight(stack, layer);
    return { name: name.replace(/wo\.weight$/, this.w.gated ? 'wi_1.weight' : 'wi.weight'), transposed: false };
  }

  forward({ encoderIds, encoderMask, decoderIds, decoderMask, hooks }: Seq2SeqForwardInput) {
    const encoded = this.encode({ ids: encoderIds, attentionMask: encoderMask, hooks: hooks?.encoder });
    return this.decode({ ids: decoderIds, encoded, attentionMask: decoderMask, hooks: hooks?.decoder });
  }

  encode({ ids, attentionMask, hooks = NO_HOOKS }: EncodeInput): Encoded {
    const [batch, tokens] = checkIds('encode', ids);
    const mask = maskRows('encode', batch, tokens, attentionMask);
    const { blocks, bias, finalNorm } = this.w.encoder;
    // padded keys are masked for every query: [B, 1, 1, S]
    const keyMask = this.keyMask(mask);
    const positionBias = this.positionBias(bias, 0, tokens, tokens, true);
    let x = hooks.apply('embed', 0, embedding(this.w.shared, ids));
    for (const [l, block] of blocks.entries()) {
      x = hooks.apply('resid_pre', l, x);
      const h = rmsNorm(x, block.selfNorm, this.w.eps);
      const attn = hooks.apply('attn_out', l, this.attend(block.self, h, h, positionBias, keyMask));
      x = add(x, attn);
      x = hooks.apply('resid_post', l, add(x, this.ffn(block, x, l, hooks)));
    }
    return { states: rmsNorm(x, finalNorm, this.w.eps), mask };
  }

  decode({ ids, encoded, attentionMask, hooks: given = NO_HOOKS, cache }: DecodeInput) {
    const [batch, tokens] = checkIds('decode', ids);
    const hooks = this.slots.wrap(given);
    if (encoded.states.shape[0] !== batch) throw new Error(`decode: ${batch} decoder sequences but ${encoded.states.shape[0]} encoded ones`);
    const past = cache?.self.length ?? 0;
    // causal, with padded decoder keys masked: [B, 1, T, past + T]; extends cache.self.mask
    const selfMask = positional(this.engine, batch, tokens, attentionMask, cache?.self).mask;
    const crossMask = this.keyMask(encoded.mask);
    const { blocks, bias } = this.w.decoder;
    const positionBias = this.positionBias(bias, past, tokens, past + tokens, false);
    let x = hooks.apply('embed', 0, embedding(this.w.shared, ids));
    for (const [l, block] of blocks.entries()) {
      x = hooks.apply('resid_pre', l, x);
      const h = rmsNorm(x, block.selfNorm, this.w.eps);
      const attn = hooks.apply('attn_out', l, this.attend(block.self, h, h, positionBias, selfMask, cache && { cache, layer: l }));
      x = add(x, attn);
      const c = rmsNorm(x, block.crossNorm!, this.w.eps);
      const cross = this.crossAttend(block.cross!, c, encoded.states, crossMask, l, cache);
      x = add(x, hooks.apply('cross_attn_out', l, cross));
      x = hooks.apply('resid_post', l, add(x, this.ffn(block, x, l, hooks)));
    }
    return { logits: this.decoderHead(x) };
  }

  decoderHead(residual: Tensor): Tensor {
    const out = rmsNorm(residual, this.w.decoder.finalNorm, this.w.eps);
    const scaled = this.w.headScale === 1 ? out : mulScalar(out, this.w.headScale);
    return matmul(scaled, this.w.lmHead, { transB: true });
  }

  newCache(): Seq2SeqCache {
    return new Seq2SeqCache(this.spec.decoderLayers);
  }

  dispose(): void {
    this.slots.dispose();
    for (const t of this.params.values()) t.dispose();
  }

  /** FFN sublayer of a block: its output, to be added to the residual stream. */
  private ffn(block: Block, x: Tensor, l: number, hooks: Hooks): Tensor {
    const { wi, gate, wo } = block.ffn;
    const h = hooks.apply('mlp_in', l, rmsNorm(x, block.ffnNorm, this.w.eps));
    // mlp_pre: the output of the projection linear in the key (v1.0: wi before the activation;
    // v1.1: wi_1, the factor act(wi_0 h) multiplies, as Llama's up_proj)
    const key = gate
      ? hooks.apply('mlp_key', l, mul(this.w.act(linear(h, wi)), hooks.apply('mlp_pre', l, linear(h, gate))))
      : hooks.apply('mlp_key', l, this.w.act(hooks.apply('mlp_pre', l, linear(h, wi))));
    return hooks.apply('mlp_out', l, linear(key, wo));
  }

  /** Unscaled attention of queries from `h` over keys/values from `kv` ([B, T, D] each). */
  private attend(w: AttentionWeights, h: Tensor, kv: Tensor, bias: Tensor, mask: Tensor, cached?: { cache: Seq2SeqCache; layer: number }): Tensor {
    const heads = this.spec.heads;
    const q = splitHeads(linear(h, w.q), heads); // [B, H, T, dk]
    let k = splitHeads(linear(kv, w.k), heads);
    let v = splitHeads(linear(kv, w.v), heads);
    if (cached) ({ k, v } = cached.cache.self.extend(cached.layer, k, v)); // [B, H, past + T, dk]
    return linear(mergeHeads(scores(q, k, v, bias, mask)), w.o);
  }

  /** Cross-attention over the encoder states: no position bias; k/v cached once per input. */
  private crossAttend(w: AttentionWeights, h: Tensor, states: Tensor, mask: Tensor, layer: number, cache?: Seq2SeqCache): Tensor {
    const heads = this.spec.heads;
    const make = () => ({ k: splitHeads(linear(states, w.k), heads), v: splitHeads(linear(states, w.v), heads) }); // [B, H, S, dk]
    const { k, v } = cache ? cache.crossKV(layer, states, make) : make();
    const q = splitHeads(linear(h, w.q), heads);
    return linear(mergeHeads(scores(q, k, v, null, mask)), w.o);
  }

  /** Additive mask [B, 1, 1, S]: -inf on padded keys. */
  private keyMask(mask: number[][]): Tensor {
    const s = mask[0]!.length;
    const values = new Float32Array(mask.length * s);
    mask.forEach((row, b) => row.forEach((m, j) => (values[b * s + j] = m ? 0 : -Infinity)));
    return this.engine.tensor(values, [mask.length, 1, 1, s]);
  }

  /** Learned relative position bias [1, H, T, K] for queries at first..first+T-1 over keys 0..K-1. */
  private positionBias(table: Tensor, first: number, queries: number, keys: number, bidirectional: boolean): Tensor {
    const ids = new Int32Array(queries * keys);
    for (let i = 0; i < queries; i++) {
      for (let j = 0; j < keys; j++) ids[i * keys + j] = relativePositionBucket(j - (first + i), bidirectional, this.w.buckets, this.w.maxDistance);
    }
    const rows = embedding(table, this.engine.tensor(ids, [queries, keys], 'i32')); // [T, K, H]
    return reshape(permute(rows, [2, 0, 1]), [1, this.spec.heads, queries, keys]);
  }
}

/** softmax(q k^T + bias + mask) v, without T5's missing 1/sqrt(d): [B, H, T, dk] */
function scores(q: Tensor, k: Tensor, v: Tensor, bias: Tensor | null, mask: Tensor): Tensor {
  const raw = matmul(q, k, { transB: true }); // [B, H, T, K]
  const biased = bias ? add(raw, bias) : raw;
  return matmul(softmax(addMask(biased, mask)), v);
}

function checkIds(op: string, ids: Tensor): [number, number] {
  if (ids.dtype !== 'i32' || ids.rank !== 2) throw new Error(`${op}: ids must be i32 [B, T], got ${ids.dtype} [${ids.shape}]`);
  return ids.shape as [number, number];
}

function maskRows(op: string, batch: number, tokens: number, mask: readonly (readonly number[])[] | undefined): number[][] {
  const rows = mask ? mask.map((r) => [...r]) : Array.from({ length: batch }, () => new Array<number>(tokens).fill(1));
  if (rows.length !== batch || rows.some((r) => r.length !== tokens)) throw new Error(`${op}: attentionMask must be [${batch}][${tokens}]`);
  return rows;
}

export function buildT5(engine: Engine, w: WeightLoader, config: T5Config): EncoderDecoderLM {
  const d = config.d_model;
  const heads = config.num_heads;
  const inner = heads * config.d_kv;
  const ff = config.d_ff;
  const vocab = config.vocab_size;
  const { act, gated } = feedForward(config.feed_forward_proj);
  const decoderLayers = config.num_decoder_layers ?? config.num_layers;
  const spec: Seq2SeqSpec = {
    family: 't5',
    encoderLayers: config.num_layers,
    decoderLayers,
    hidden: d,
    heads,
    headDim: config.d_kv,
    mlpHidden: ff,
    vocabSize: vocab,
    decoderStartId: config.decoder_start_token_id ?? config.pad_token_id,
    padId: config.pad_token_id,
    eosId: config.eos_token_id,
  };
  const take = w.take.bind(w);
  // save_pretrained keeps one name of the tied embedding: `shared` (the others alias it)
  const shared = take(w.has('shared.weight') ? 'shared.weight' : 'encoder.embed_tokens.weight', [vocab, d]);
  const attention = (p: string): AttentionWeights => ({
    q: take(`${p}.q.weight`, [inner, d]),
    k: take(`${p}.k.weight`, [inner, d]),
    v: take(`${p}.v.weight`, [inner, d]),
    o: take(`${p}.o.weight`, [d, inner]),
  });
  const ffn = (p: string): FfnWeights => ({
    wi: take(`${p}.DenseReluDense.${gated ? 'wi_0' : 'wi'}.weight`, [ff, d]),
    gate: gated ? take(`${p}.DenseReluDense.wi_1.weight`, [ff, d]) : null,
    wo: take(`${p}.DenseReluDense.wo.weight`, [d, ff]),
  });
  // encoder block: layer.0 self-attention, layer.1 FFN; decoder: layer.0 self, layer.1 cross, layer.2 FFN
  const stack = (name: Stack, layers: number) => {
    const blocks = Array.from({ length: layers }, (_, l): Block => {
      const p = `${name}.block.${l}.layer`;
      const decoder = name === 'decoder';
      return {
        selfNorm: take(`${p}.0.layer_norm.weight`, [d]),
        self: attention(`${p}.0.SelfAttention`),
        crossNorm: decoder ? take(`${p}.1.layer_norm.weight`, [d]) : null,
        cross: decoder ? attention(`${p}.1.EncDecAttention`) : null,
        ffnNorm: take(`${p}.${decoder ? 2 : 1}.layer_norm.weight`, [d]),
        ffn: ffn(`${p}.${decoder ? 2 : 1}`),
      };
    });
    const bias = take(`${name}.block.0.layer.0.SelfAttention.relative_attention_bias.weight`, [config.relative_attention_num_buckets, heads]);
    return { blocks, bias, finalNorm: take(`${name}.final_layer_norm.weight`, [d]) };
  };
  const encoder = stack('encoder', config.num_layers);
  const decoder = stack('decoder', decoderLayers);
  const tied = config.tie_word_embeddings;
  const lmHead = tied ? shared : take('lm_head.weight', [vocab, d]);
  return new T5Model(engine, spec, w.finish(), {
    shared,
    lmHead,
    headScale: tied ? d ** -0.5 : 1,
    encoder,
    decoder,
    act,
    gated,
    eps: config.layer_norm_epsilon,
    buckets: config.relative_attention_num_buckets,
    maxDistance: config.relative_attention_max_distance,
  });
}
