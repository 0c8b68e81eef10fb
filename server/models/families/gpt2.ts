/**
 * GPT-2 (Radford et al. 2019), as in Hugging Face's modeling_gpt2.py: learned positions,
 * pre-LayerNorm blocks, GELU (tanh approximation) MLP, LM head tied to the token embedding.
 * Its Linear layers are Conv1D, storing weights [in, out]: c_attn, attn.c_proj, c_fc, mlp.c_proj.
 */
import { z } from 'zod';
import type { Engine } from '../../engine';
import { add, embedding, gelu, layerNorm, matmul, narrow } from '../../engine/ops';
import { attention, conv1d, mergeHeads, splitHeads, type ModelSpec } from '../network';
import type { WeightLoader } from '../weights';
import { DecoderOnlyLM } from './base';

export const Gpt2Config = z.looseObject({
  model_type: z.literal('gpt2'),
  vocab_size: z.number().int().positive(),
  n_positions: z.number().int().positive(),
  n_embd: z.number().int().positive(),
  n_layer: z.number().int().positive(),
  n_head: z.number().int().positive(),
  n_inner: z.number().int().positive().nullish(),
  layer_norm_epsilon: z.number().default(1e-5),
  activation_function: z.enum(['gelu_new', 'gelu', 'gelu_pytorch_tanh']).default('gelu_new'),
  scale_attn_by_inverse_layer_idx: z.literal(false).default(false),
});
export type Gpt2Config = z.infer<typeof Gpt2Config>;

export function buildGpt2(engine: Engine, w: WeightLoader, config: Gpt2Config): DecoderOnlyLM {
  const d = config.n_embd;
  const inner = config.n_inner ?? 4 * d;
  const spec: ModelSpec = {
    family: 'gpt2',
    layers: config.n_layer,
    hidden: d,
    heads: config.n_head,
    kvHeads: config.n_head,
    headDim: d / config.n_head,
    mlpHidden: inner,
    vocabSize: config.vocab_size,
    maxPositions: config.n_positions,
  };
  const wte = w.take('transformer.wte.weight', [config.vocab_size, d]);
  const wpe = w.take('transformer.wpe.weight', [config.n_positions, d]);
  const layers = Array.from({ length: config.n_layer }, (_, l) => {
    const p = `transformer.h.${l}.`;
    return {
      ln1: [w.take(`${p}ln_1.weight`, [d]), w.take(`${p}ln_1.bias`, [d])] as const,
      qkv: [w.take(`${p}attn.c_attn.weight`, [d, 3 * d]), w.take(`${p}attn.c_attn.bias`, [3 * d])] as const,
      attnOut: [w.take(`${p}attn.c_proj.weight`, [d, d]), w.take(`${p}attn.c_proj.bias`, [d])] as const,
      ln2: [w.take(`${p}ln_2.weight`, [d]), w.take(`${p}ln_2.bias`, [d])] as const,
      fc: [w.take(`${p}mlp.c_fc.weight`, [d, inner]), w.take(`${p}mlp.c_fc.bias`, [inner])] as const,
      proj: [w.take(`${p}mlp.c_proj.weight`, [inner, d]), w.take(`${p}mlp.c_proj.bias`, [d])] as const,
    };
  });
  const lnf = [w.take('transformer.ln_f.weight', [d]), w.take('transformer.ln_f.bias', [d])] as const;
  const eps = config.layer_norm_epsilon;
  const act = config.activation_function === 'gelu' ? 'erf' : 'tanh';

  return new DecoderOnlyLM(engine, spec, w.finish(), {
    embed: (ids, pos) => add(embedding(wte, ids), embedding(wpe, engine.tensor(Int32Array.from(pos.positions.flat()), ids.shape, 'i32'))),
    block(x, l, { pos, hooks, cache }) {
      const L = layers[l]!;
      const h = layerNorm(x, L.ln1[0], L.ln1[1], eps);
      const qkv = conv1d(h, L.qkv[0], L.qkv[1]); // [B, T, 3D]
      const q = splitHeads(narrow(qkv, 2, 0, d), config.n_head); // [B, H, T, hd]
      let k = splitHeads(narrow(qkv, 2, d, d), config.n_head);
      let v = splitHeads(narrow(qkv, 2, 2 * d, d), config.n_head);
      if (cache) ({ k, v } = cache.extend(l, k, v));
      const attn = hooks.apply('attn_out', l, conv1d(mergeHeads(attention(q, k, v, pos.mask)), L.attnOut[0], L.attnOut[1]));
      const mid = add(x, attn);
      const mlpIn = hooks.apply('mlp_in', l, layerNorm(mid, L.ln2[0], L.ln2[1], eps));
      const key = hooks.apply('mlp_key', l, gelu(hooks.apply('mlp_pre', l, conv1d(mlpIn, L.fc[0], L.fc[1])), act));
      const mlpOut = hooks.apply('mlp_out', l, conv1d(key, L.proj[0], L.proj[1]));
      return add(mid, mlpOut);
    },
    head: (x) => matmul(layerNorm(x, lnf[0], lnf[1], eps), wte, { transB: true }),
    mlpOutWeight: (l) => ({ name: `transformer.h.${l}.mlp.c_proj.weight`, transposed: true }),
    mlpInWeight: (l) => ({ name: `transformer.h.${l}.mlp.c_fc.weight`, transposed: true }),
  });
}
