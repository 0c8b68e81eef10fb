import { gaussianArray } from '../../../lib/random';
import type { Engine } from '../../engine';
import { buildModel } from '../families';
import { LanguageModel, type TextTokenizer } from '../lm';
import type { CausalLM } from '../network';

/** A random GPT-2 small enough for finite differences: 2 layers, d 8, MLP 32, vocab 16. */
export async function tinyGpt2(engine: Engine): Promise<CausalLM> {
  const [d, inner, vocab, positions] = [8, 32, 16, 16];
  const shapes: Record<string, number[]> = { 'transformer.wte.weight': [vocab, d], 'transformer.wpe.weight': [positions, d], 'transformer.ln_f.weight': [d], 'transformer.ln_f.bias': [d] };
  for (let l = 0; l < 2; l++) {
    const p = `transformer.h.${l}.`;
    Object.assign(shapes, {
      [`${p}ln_1.weight`]: [d], [`${p}ln_1.bias`]: [d], [`${p}ln_2.weight`]: [d], [`${p}ln_2.bias`]: [d],
      [`${p}attn.c_attn.weight`]: [d, 3 * d], [`${p}attn.c_attn.bias`]: [3 * d], [`${p}attn.c_proj.weight`]: [d, d], [`${p}attn.c_proj.bias`]: [d],
      [`${p}mlp.c_fc.weight`]: [d, inner], [`${p}mlp.c_fc.bias`]: [inner], [`${p}mlp.c_proj.weight`]: [inner, d], [`${p}mlp.c_proj.bias`]: [d],
    });
  }
  const names = Object.keys(shapes);
  const source = {
    names: () => names,
    read: async (name: string) => {
      const shape = shapes[name]!;
      const size = shape.reduce((a, b) => a * b, 1);
      const data = name.includes('ln_') && name.endsWith('.weight') ? new Float32Array(size).fill(1) : gaussianArray(size, names.indexOf(name) + 1, 0, 0.5);
      return { dtype: 'f32' as const, shape, data };
    },
  };
  return buildModel(engine, source, { model_type: 'gpt2', vocab_size: vocab, n_positions: positions, n_embd: d, n_layer: 2, n_head: 2 });
}


/** A tokenizer for tests that work on token ids only: any text is an error. */
const NO_TEXT: TextTokenizer = {
  vocabSize: 16,
  encode: () => {
    throw new Error('tokenless: this test model reads token ids, not text');
  },
  decode: (ids) => ids.join(' '),
  findSubjectTokens: () => {
    throw new Error('tokenless: this test model reads token ids, not text');
  },
};

/** The network as a LanguageModel (the interface editors read models through) for token-id tests. */
export function tokenless(network: CausalLM): LanguageModel {
  return new LanguageModel(network, NO_TEXT);
}
