/**
 * GPT-NeoX (Black et al. 2022; Pythia), as in Hugging Face's modeling_gpt_neox.py: fused QKV
 * projection laid out per head ([q_h, k_h, v_h] for each head h), rotary embeddings on the first
 * rotary_pct of each head's features (half-split pairs), exact GELU, and either the parallel
 * residual x + attn(ln1(x)) + mlp(ln2(x)) or the sequential one.
 */
import { z } from 'zod';
import type { Engine, Tensor } from '../../engine';
import { add, embedding, gelu, layerNorm, narrow, permute, reshape } from '../../engine/ops';
import { applyRotary, attention, linear, mergeHeads, type ModelSpec } from '../network';
import type { WeightLoader } from '../weights';
import { DecoderOnlyLM } from './base';

export const NeoxConfig = z.looseObject({
  model_type: z.literal('gpt_neox'),
  vocab_size: z.number().int().positive(),
  hidden_size: z.number().int().positive(),
  intermediate_size: z.number().int().positive(),
  num_hidden_layers: z.number().int().positive(),
  num_attention_heads: z.number().int().positive(),
  max_position_embeddings: z.number().int().positive(),
  layer_norm_eps: z.number().default(1e-5),
  rotary_pct: z.number().nullish(),
  rotary_emb_base: z.number().nullish(),
  rope_theta: z.number().nullish(),
  rope_parameters: z.looseObject({ rope_theta: z.number().optional(), partial_rotary_factor: z.number().optional(), rope_type: z.string().optional() }).nullish(),
  use_parallel_residual: z.boolean().default(true),
  hidden_act: z.enum(['gelu', 'gelu_new', 'gelu_fast']).default('gelu'),
  attention_bias: z.boolean().default(true),
  tie_word_embeddings: z.boolean().default(false),
});
export type NeoxConfig = z.infer<typeof NeoxConfig>;

export function buildNeox(engine: Engine, w: WeightLoader, config: NeoxConfig): DecoderOnlyLM {
  const d = config.hidden_size;
  const heads = config.num_attention_heads;
  const headDim = d / heads;
  const inner = config.intermediate_size;
  const spec: ModelSpec = {
    family: 'neox',
    layers: config.num_hidden_layers,
    hidden: d,
    heads,
    kvHeads: heads,
    headDim,
    mlpHidden: inner,
    vocabSize: config.vocab_size,
    maxPositions: config.max_position_embeddings,
  };
  // transformers 5 moved these into rope_parameters; older configs have them at the top level
  const pct = config.rope_parameters?.partial_rotary_factor ?? config.rotary_pct ?? 0.25;
  const theta = config.rope_parameters?.rope_theta ?? config.rope_theta ?? config.rotary_emb_base ?? 10000;
  const rotary = { rotaryDim: Math.floor(headDim * pct), interleaved: false, theta };
  const bias = (name: string, size: number) => (config.attention_bias ? w.take(name, [size]) : null);
  const embed = w.take('gpt_neox.embed_in.weight', [config.vocab_size, d]);
  const layers = Array.from({ length: config.num_hidden_layers }, (_, l) => {
    const p = `gpt_neox.layers.${l}.`;
    return {
      ln1: [w.take(`${p}input_layernorm.weight`, [d]), w.take(`${p}input_layernorm.bias`, [d])] as const,
      ln2: [w.take(`${p}post_attention_layernorm.weight`, [d]), w.take(`${p}post_attention_layernorm.bias`, [d])] as const,
      qkv: [w.take(`${p}attention.query_key_value.weight`, [3 * d, d]), bias(`${p}attention.query_key_value.bias`, 3 * d)] as const,
      dense: [w.take(`${p}attention.dense.weight`, [d, d]), bias(`${p}attention.dense.bias`, d)] as const,
      up: [w.take(`${p}mlp.dense_h_to_4h.weight`, [inner, d]), w.take(`${p}mlp.dense_h_to_4h.bias`, [inner])] as const,
      down: [w.take(`${p}mlp.dense_4h_to_h.weight`, [d, inner]), w.take(`${p}mlp.dense_4h_to_h.bias`, [d])] as const,
    };
  });
  const lnf = [w.take('gpt_neox.final_layer_norm.weight', [d]), w.take('gpt_neox.final_layer_norm.bias', [d])] as const;
  const unembed = config.tie_word_embeddings ? embed : w.take('embed_out.weight', [config.vocab_size, d]);
  const eps = config.layer_norm_eps;
  const act = config.hidden_act === 'gelu' ? 'erf' : 'tanh';

  return new DecoderOnlyLM(engine, spec, w.finish(), {
    embed: (ids) => embedding(embed, ids),
    block(x, l, { pos, hooks, cache }) {
      const L = layers[l]!;
      const [b, t] = x.shape as [number, number];
      const h = layerNorm(x, L.ln1[0], L.ln1[1], eps);
      const qkv = permute(reshape(linear(h, ...L.qkv), [b, t, heads, 3 * headDim]), [0, 2, 1, 3]); // [B, H, T, 3hd]
      const rotated = applyRotary(narrow(qkv, 3, 0, headDim), narrow(qkv, 3, headDim, headDim), pos.positions, rotary);
      let { k } = rotated;
      let v = narrow(qkv, 3, 2 * headDim, headDim);
      if (cache) ({ k, v } = cache.extend(l, k, v));
      const attn = hooks.apply('attn_out', l, linear(mergeHeads(attention(rotated.q, k, v, pos.mask)), ...L.dense));
      const mlp = (input: Tensor) => {
        const mlpIn = hooks.apply('mlp_in', l, input);
        const key = hooks.apply('mlp_key', l, gelu(hooks.apply('mlp_pre', l, linear(mlpIn, ...L.up)), act));
        return hooks.apply('mlp_out', l, linear(key, ...L.down));
      };
      if (config.use_parallel_residual) return add(add(x, attn), mlp(layerNorm(x, L.ln2[0], L.ln2[1], eps)));
      const mid = add(x, attn);
      return add(mid, mlp(layerNorm(mid, L.ln2[0], L.ln2[1], eps)));
    },
    head: (x) => linear(layerNorm(x, lnf[0], lnf[1], eps), unembed),
    mlpOutWeight: (l) => ({ name: `gpt_neox.layers.${l}.mlp.dense_4h_to_h.weight`, transposed: false }),
    mlpInWeight: (l) => ({ name: `gpt_neox.layers.${l}.mlp.dense_h_to_4h.weight`, transposed: false }),
  });
}
