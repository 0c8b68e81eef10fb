/**
 * Llama (Touvron et al. 2023), as in Hugging Face's modeling_llama.py: RMSNorm, rotary embeddings
 * with theta from the config (half-split pairs, the Hugging Face layout; gguf-checkpoint.ts converts
 * GGUF files to it), grouped-query attention, SwiGLU MLP: down(silu(gate(x)) * up(x)). The MLP key
 * is silu(gate) * up.
 */
import { z } from 'zod';
import type { Engine } from '../../engine';
import { add, embedding, matmul, mul, rmsNorm, silu } from '../../engine/ops';
import { applyRotary, attention, linear, mergeHeads, splitHeads, type ModelSpec } from '../network';
import type { WeightLoader } from '../weights';
import { DecoderOnlyLM } from './base';

export const LlamaConfig = z.looseObject({
  model_type: z.enum(['llama', 'mistral']),
  vocab_size: z.number().int().positive(),
  hidden_size: z.number().int().positive(),
  intermediate_size: z.number().int().positive(),
  num_hidden_layers: z.number().int().positive(),
  num_attention_heads: z.number().int().positive(),
  num_key_value_heads: z.number().int().positive().nullish(),
  head_dim: z.number().int().positive().nullish(),
  max_position_embeddings: z.number().int().positive(),
  rms_norm_eps: z.number().default(1e-6),
  rope_theta: z.number().positive().nullish(),
  rope_parameters: z.looseObject({ rope_theta: z.number().positive().optional(), rope_type: z.string().optional() }).nullish(),
  rope_scaling: z.null().optional(),
  tie_word_embeddings: z.boolean().default(false),
  attention_bias: z.boolean().default(false),
  mlp_bias: z.boolean().default(false),
  hidden_act: z.literal('silu').default('silu'),
});
export type LlamaConfig = z.infer<typeof LlamaConfig>;

export function buildLlama(engine: Engine, w: WeightLoader, config: LlamaConfig): DecoderOnlyLM {
  const ropeType = config.rope_parameters?.rope_type ?? 'default';
  if (ropeType !== 'default') throw new Error(`llama: rope_type '${ropeType}' (RoPE scaling) is not supported yet`);
  const d = config.hidden_size;
  const heads = config.num_attention_heads;
  const kvHeads = config.num_key_value_heads ?? heads;
  const headDim = config.head_dim ?? d / heads;
  const inner = config.intermediate_size;
  const spec: ModelSpec = {
    family: 'llama',
    layers: config.num_hidden_layers,
    hidden: d,
    heads,
    kvHeads,
    headDim,
    mlpHidden: inner,
    vocabSize: config.vocab_size,
    maxPositions: config.max_position_embeddings,
  };
  const theta = config.rope_parameters?.rope_theta ?? config.rope_theta ?? 10000;
  const rotary = { rotaryDim: headDim, interleaved: false, theta };
  const take = w.take.bind(w);
  const optionalBias = (name: string, size: number, present: boolean) => (present ? take(name, [size]) : null);
  const embed = take('model.embed_tokens.weight', [config.vocab_size, d]);
  const layers = Array.from({ length: config.num_hidden_layers }, (_, l) => {
    const p = `model.layers.${l}.`;
    const ab = config.attention_bias;
    return {
      inputNorm: take(`${p}input_layernorm.weight`, [d]),
      q: [take(`${p}self_attn.q_proj.weight`, [heads * headDim, d]), optionalBias(`${p}self_attn.q_proj.bias`, heads * headDim, ab)] as const,
      k: [take(`${p}self_attn.k_proj.weight`, [kvHeads * headDim, d]), optionalBias(`${p}self_attn.k_proj.bias`, kvHeads * headDim, ab)] as const,
      v: [take(`${p}self_attn.v_proj.weight`, [kvHeads * headDim, d]), optionalBias(`${p}self_attn.v_proj.bias`, kvHeads * headDim, ab)] as const,
      o: [take(`${p}self_attn.o_proj.weight`, [d, heads * headDim]), optionalBias(`${p}self_attn.o_proj.bias`, d, ab)] as const,
      postNorm: take(`${p}post_attention_layernorm.weight`, [d]),
      gate: [take(`${p}mlp.gate_proj.weight`, [inner, d]), optionalBias(`${p}mlp.gate_proj.bias`, inner, config.mlp_bias)] as const,
      up: [take(`${p}mlp.up_proj.weight`, [inner, d]), optionalBias(`${p}mlp.up_proj.bias`, inner, config.mlp_bias)] as const,
      down: [take(`${p}mlp.down_proj.weight`, [d, inner]), optionalBias(`${p}mlp.down_proj.bias`, d, config.mlp_bias)] as const,
    };
  });
  const norm = take('model.norm.weight', [d]);
  const tied = config.tie_word_embeddings || !w.has('lm_head.weight');
  const lmHead = tied ? embed : take('lm_head.weight', [config.vocab_size, d]);
  const eps = config.rms_norm_eps;

  return new DecoderOnlyLM(engine, spec, w.finish(), {
    embed: (ids) => embedding(embed, ids),
    block(x, l, { pos, hooks, cache }) {
      const L = layers[l]!;
      const h = rmsNorm(x, L.inputNorm, eps);
      const rotated = applyRotary(splitHeads(linear(h, ...L.q), heads), splitHeads(linear(h, ...L.k), kvHeads), pos.positions, rotary);
      let { k } = rotated;
      let v = splitHeads(linear(h, ...L.v), kvHeads);
      if (cache) ({ k, v } = cache.extend(l, k, v));
      const attn = hooks.apply('attn_out', l, linear(mergeHeads(attention(rotated.q, k, v, pos.mask)), ...L.o));
      const mid = add(x, attn);
      const mlpIn = hooks.apply('mlp_in', l, rmsNorm(mid, L.postNorm, eps));
      const key = hooks.apply('mlp_key', l, mul(silu(linear(mlpIn, ...L.gate)), hooks.apply('mlp_pre', l, linear(mlpIn, ...L.up))));
      const mlpOut = hooks.apply('mlp_out', l, linear(key, ...L.down));
      return add(mid, mlpOut);
    },
    head: (x) => matmul(rmsNorm(x, norm, eps), lmHead, { transB: true }),
    mlpOutWeight: (l) => ({ name: `model.layers.${l}.mlp.down_proj.weight`, transposed: false }),
    mlpInWeight: (l) => ({ name: `model.layers.${l}.mlp.up_proj.weight`, transposed: false }),
  });
}
