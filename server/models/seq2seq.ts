/**
 * Encoder-decoder (seq2seq) networks, beside the decoder-only `CausalLM` of network.ts.
 *
 * Decision: a separate interface, not a widened `CausalLM`. An encoder-decoder model has two inputs
 * (encoder ids, decoder ids), two layer stacks and a cache with two parts (the decoder's growing
 * self-attention keys/values, and cross-attention keys/values computed once from the encoder's
 * output). Folding that into `CausalLM` would give every decoder-only caller (ROME, MEMIT, causal
 * traces, ONNX export) optional fields it must reject. So:
 *   - `EncoderDecoderLM` (here) is the network: `encode`, `decode`, `forward`, hooks per stack.
 *   - `Seq2SeqLanguageModel` (seq2seq-lm.ts) is the `LanguageModel` counterpart: teacher-forced
 *     scores of targets on the decoder side, greedy generation with the cache, top-k.
 *   - families/index.ts is the one place that says which model types are encoder-decoder
 *     (`ENCODER_DECODER_FAMILIES`, `isEncoderDecoder`); the decoder-only loaders refuse them there
 *     with a message that says why.
 *
 * Hooks: each stack gets its own `Hooks` (`{ encoder, decoder }`), with the decoder-only point
 * names of hooks.ts (`mlp_key`, `mlp_out`, `resid_post`, ...) and layer indices within the stack,
 * plus `cross_attn_out` (the cross-attention output, after its projection) in the decoder. The
 * existing helpers (captureInto, addAt, replaceAt) work on either stack unchanged.
 */
import type { Engine, Tensor } from '../engine';
import type { EditMemory } from './edit-memory';
import type { AddedSlots } from './ffn-slots';
import type { Hooks } from './hooks';
import { KVCache, type ForwardOutput } from './network';

export type Stack = 'encoder' | 'decoder';

export interface Seq2SeqSpec {
  family: 't5';
  encoderLayers: number;
  decoderLayers: number;
  hidden: number;
  heads: number;
  headDim: number;
  /** Width of the FFN key (the output projection's input). */
  mlpHidden: number;
  vocabSize: number;
  /** The first decoder input (T5: the pad id, 0). */
  decoderStartId: number;
  padId: number;
  eosId: number;
}

/** Hooks for one call, per stack. */
export interface Seq2SeqHooks {
  encoder?: Hooks;
  decoder?: Hooks;
}

export interface EncodeInput {
  /** Encoder token ids [B, S] (i32). */
  ids: Tensor;
  /** 1 for real tokens, 0 for padding, per sequence [B][S]; all ones when absent. */
  attentionMask?: readonly (readonly number[])[];
  hooks?: Hooks;
}

/** The encoder's output (after its final norm) and the mask cross-attention uses. */
export interface Encoded {
  /** [B, S, D] */
  states: Tensor;
  mask: number[][];
}

export interface DecodeInput {
  /** Decoder token ids [B, T] (i32): the start token, then the target shifted right. */
  ids: Tensor;
  encoded: Encoded;
  /** Decoder padding [B][T]; all ones when absent. */
  attentionMask?: readonly (readonly number[])[];
  hooks?: Hooks;
  /** Earlier decoder tokens' keys/values and the cross-attention keys/values; extended in place. */
  cache?: Seq2SeqCache;
}

export interface Seq2SeqForwardInput {
  encoderIds: Tensor;
  encoderMask?: readonly (readonly number[])[];
  decoderIds: Tensor;
  decoderMask?: readonly (readonly number[])[];
  hooks?: Seq2SeqHooks;
}

export interface EncoderDecoderLM {
  readonly spec: Seq2SeqSpec;
  readonly engine: Engine;
  /** Parameters by checkpoint key. */
  readonly params: ReadonlyMap<string, Tensor>;
  /** Key/value slots added beside the decoder's FFNs (T-Patcher, CaliNET): every decode runs them. */
  readonly slots: AddedSlots;
  /** Edits held beside the weights (SERAC): score, topK and generate route through it. */
  readonly memory: EditMemory;
  /** The FFN output projection of a block of one stack, stored [out, in]. */
  mlpOutWeight(stack: Stack, layer: number): { name: string; transposed: boolean };
  /** The FFN input projection whose output is the `mlp_pre` hook point (v1.1: wi_1, the ungated factor), stored [out, in]. */
  mlpInWeight(stack: Stack, layer: number): { name: string; transposed: boolean };
  encode(input: EncodeInput): Encoded;
  /** Logits [B, T, V] of the decoder tokens given the encoded input. */
  decode(input: DecodeInput): ForwardOutput;
  /** encode then decode: teacher-forced logits [B, T, V]. */
  forward(input: Seq2SeqForwardInput): ForwardOutput;
  /** Final norm and unembedding of a decoder residual after its last layer: [B, T, D] -> [B, T, V]. */
  decoderHead(residual: Tensor): Tensor;
  newCache(): Seq2SeqCache;
  dispose(): void;
}

/**
 * The decoder's cache: self-attention keys/values per layer (growing by one token a step), and the
 * cross-attention keys/values per layer, computed from the encoder's output on the first step
 * and reused (they depend on the encoder only).
 */
export class Seq2SeqCache {
  readonly self: KVCache;
  private readonly cross: ({ k: Tensor; v: Tensor } | null)[];
  /** The encoder states the cross-attention entries were computed from. */
  private source: Tensor | null = null;

  constructor(layers: number) {
    this.self = new KVCache(layers);
    this.cross = new Array<{ k: Tensor; v: Tensor } | null>(layers).fill(null);
  }

  /** Cross-attention k/v of a layer for these encoder states: cached, or made by `make` and kept. */
  crossKV(layer: number, states: Tensor, make: () => { k: Tensor; v: Tensor }): { k: Tensor; v: Tensor } {
    if (this.source && this.source !== states) throw new Error('Seq2SeqCache: the cache belongs to another encoder output; make a new cache per input');
    this.source = states;
    const hit = this.cross[layer];
    if (hit) return hit;
    const { k, v } = make();
    const kept = { k: states.engine.keep(k), v: states.engine.keep(v) };
    this.cross[layer] = kept;
    return kept;
  }

  dispose(): void {
    this.self.dispose();
    for (const entry of this.cross) {
      entry?.k.dispose();
      entry?.v.dispose();
    }
    this.cross.fill(null);
    this.source = null;
  }
}
