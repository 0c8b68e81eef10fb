/**
 * GPT-J (Wang & Komatsuzaki 2021), as in Hugging Face's modeling_gptj.py: one LayerNorm feeding
 * attention and MLP in parallel (x + attn(ln(x)) + mlp(ln(x))), rotary embeddings on the first
 * `rotary_dim` features of each head with GPT-J's interleaved pairs, untied LM head with a bias.
 */
import { z } from 'zod';
import type { Engine } from '../../engine';
import { add, embedding, gelu, layerNorm } from '../../engine/ops';
import { applyRotary, attention, linear, mergeHeads, splitHeads, type ModelSpec } from '../network';
import type { WeightLoader } from '../weights';
import { DecoderOnlyLM } from './base';

export const GptjConfig = z.looseObject({
  model_type: z.literal('gptj'),
  vocab_size: z.number().int().positive(),
  n_positions: z.number().int().positive(),
  n_embd: z.number().int().positive(),
  n_layer: z.number().int().positive(),
  n_head: z.number().int().positive(),
  n_inner: z.number().int().positive().nullish(),
  rotary_dim: z.number().int().positive().nullish(),
  layer_norm_epsilon: z.number().default(1e-5),
  activation_function: z.enum(['gelu_new', 'gelu']).default('gelu_new'),
});
export type GptjConfig = z.infer<typeof GptjConfig>;

export function buildGptj(engine: Engine, w: WeightLoader, config: GptjConfig): DecoderOnlyLM {
  const d = config.n_embd;
  const inner = config.n_inner ?? 4 * d;
  const headDim = d / config.n_head;
  const spec: ModelSpec = {
    family: 'gptj',
    layers: config.n_layer,
    hidden: d,
    heads: config.n_head,
    kvHeads: config.n_head,
    headDim,
    mlpHidden: inner,
    vocabSize: config.vocab_size,
    maxPositions: config.n_positions,
  };
  const rotary = { rotaryDim: config.rotary_dim ?? headDim, interleaved: true, theta: 10000 };
  const wte = w.take('transformer.wte.weight', [config.vocab_size, d]);
  const layers = Array.from({ length: config.n_layer }, (_, l) => {
    const p = `transformer.h.${l}.`;
    return {
      ln: [w.take(`${p}ln_1.weight`, [d]), w.take(`${p}ln_1.bias`, [d])] as const,
      q: w.take(`${p}attn.q_proj.weight`, [d, d]),
      k: w.take(`${p}attn.k_proj.weight`, [d, d]),
      v: w.take(`${p}attn.v_proj.weight`, [d, d]),
      o: w.take(`${p}attn.out_proj.weight`, [d, d]),
      fcIn: [w.take(`${p}mlp.fc_in.weight`, [inner, d]), w.take(`${p}mlp.fc_in.bias`, [inner])] as const,
      fcOut: [w.take(`${p}mlp.fc_out.weight`, [d, inner]), w.take(`${p}mlp.fc_out.bias`, [d])] as const,
    };
  });
  const lnf = [w.take('transformer.ln_f.weight', [d]), w.take('transformer.ln_f.bias', [d])] as const;
  const lmHead = [w.take('lm_head.weight', [config.vocab_size, d]), w.take('lm_head.bias', [config.vocab_size])] as const;
  const eps = config.layer_norm_epsilon;
  const act = config.activation_function === 'gelu' ? 'erf' : 'tanh';

  return new DecoderOnlyLM(engine, spec, w.finish(), {
    embed: (ids) => embedding(wte, ids),
    block(x, l, { pos, hooks, cache }) {
      const L = layers[l]!;
      const h = layerNorm(x, L.ln[0], L.ln[1], eps);
      const rotated = applyRotary(splitHeads(linear(h, L.q), config.n_head), splitHeads(linear(h, L.k), config.n_head), pos.positions, rotary);
      let { k } = rotated;
      let v = splitHeads(linear(h, L.v), config.n_head);
      if (cache) ({ k, v } = cache.extend(l, k, v));
      const attn = hooks.apply('attn_out', l, linear(mergeHeads(attention(rotated.q, k, v, pos.mask)), L.o));
      const mlpIn = hooks.apply('mlp_in', l, h);
      const key = hooks.apply('mlp_key', l, gelu(hooks.apply('mlp_pre', l, linear(mlpIn, L.fcIn[0], L.fcIn[1])), act));
      const mlpOut = hooks.apply('mlp_out', l, linear(key, L.fcOut[0], L.fcOut[1]));
      return add(add(x, attn), mlpOut);
    },
    head: (x) => linear(layerNorm(x, lnf[0], lnf[1], eps), lmHead[0], lmHead[1]),
    mlpOutWeight: (l) => ({ name: `transformer.h.${l}.mlp.fc_out.weight`, transposed: false }),
    mlpInWeight: (l) => ({ name: `transformer.h.${l}.mlp.fc_in.weight`, transposed: false }),
  });
}
