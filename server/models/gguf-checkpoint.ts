import type { GgufFile, GgufValue } from './formats/gguf';
import { ModelLoadError, type RawTensor, type TensorSource } from './weights';

/**
 * A GGUF file seen as a Hugging Face checkpoint: its config.json equivalent from the metadata,
 * and its tensors under Hugging Face names, dequantised to f32. llama.cpp's converter reorders
 * the rows of q_proj and k_proj (to rotate interleaved pairs, as Meta's code did); we undo that
 * here so the Llama family and any safetensors export see the standard Hugging Face layout.
 * Reference: llama.cpp convert_hf_to_gguf.py, LlamaModel.permute.
 */
const LLAMA_NAMES: Record<string, string> = {
  'token_embd.weight': 'model.embed_tokens.weight',
  'output_norm.weight': 'model.norm.weight',
  'output.weight': 'lm_head.weight',
  'attn_norm.weight': 'input_layernorm.weight',
  'attn_q.weight': 'self_attn.q_proj.weight',
  'attn_k.weight': 'self_attn.k_proj.weight',
  'attn_v.weight': 'self_attn.v_proj.weight',
  'attn_output.weight': 'self_attn.o_proj.weight',
  'ffn_norm.weight': 'post_attention_layernorm.weight',
  'ffn_gate.weight': 'mlp.gate_proj.weight',
  'ffn_up.weight': 'mlp.up_proj.weight',
  'ffn_down.weight': 'mlp.down_proj.weight',
};

function hfName(ggufName: string): string | undefined {
  const block = /^blk\.(\d+)\.(.+)$/.exec(ggufName);
  if (block) {
    const inner = LLAMA_NAMES[block[2]!];
    return inner && !inner.startsWith('model.') && inner !== 'lm_head.weight' ? `model.layers.${block[1]}.${inner}` : undefined;
  }
  return LLAMA_NAMES[ggufName];
}

function num(meta: Record<string, GgufValue>, key: string, fallback?: number): number {
  const v = meta[key];
  if (typeof v === 'number') return v;
  if (fallback !== undefined) return fallback;
  throw new ModelLoadError(`GGUF metadata lacks ${key}`);
}

/** The config.json a GGUF's metadata describes (Llama-architecture files only for now). */
export function ggufConfig(gguf: GgufFile): Record<string, unknown> {
  const meta = gguf.metadata;
  const arch = meta['general.architecture'];
  if (arch !== 'llama') throw new ModelLoadError(`${gguf.path}: GGUF architecture '${String(arch)}' is not supported yet (supported: llama)`);
  const heads = num(meta, 'llama.attention.head_count');
  const embed = gguf.tensors.find((t) => t.name === 'token_embd.weight');
  if (!embed) throw new ModelLoadError(`${gguf.path}: no token_embd.weight tensor`);
  return {
    model_type: 'llama',
    vocab_size: embed.shape[0],
    hidden_size: num(meta, 'llama.embedding_length'),
    intermediate_size: num(meta, 'llama.feed_forward_length'),
    num_hidden_layers: num(meta, 'llama.block_count'),
    num_attention_heads: heads,
    num_key_value_heads: num(meta, 'llama.attention.head_count_kv', heads),
    max_position_embeddings: num(meta, 'llama.context_length'),
    rms_norm_eps: num(meta, 'llama.attention.layer_norm_rms_epsilon', 1e-5),
    rope_theta: num(meta, 'llama.rope.freq_base', 10000),
    tie_word_embeddings: !gguf.tensors.some((t) => t.name === 'output.weight'),
  };
}

/** Undoes llama.cpp's q/k row permutation: rows (head, pair, half) -> (head, half, pair). */
export function unpermuteRows(data: Float32Array, shape: readonly number[], heads: number): Float32Array {
  const [rows, cols] = shape as [number, number];
  const perHead = rows / heads;
  const half = perHead / 2;
  const out = new Float32Array(data.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const src = h * perHead + i * 2 + j; // GGUF row: interleaved pairs
        const dst = h * perHead + j * half + i; // HF row: halves
        out.set(data.subarray(src * cols, (src + 1) * cols), dst * cols);
      }
    }
  }
  return out;
}

export function ggufTensorSource(gguf: GgufFile): TensorSource {
  const config = ggufConfig(gguf);
  const names = new Map<string, string>();
  for (const t of gguf.tensors) {
    const hf = hfName(t.name);
    if (hf) names.set(hf, t.name);
  }
  return {
    names: () => [...names.keys()],
    async read(name: string): Promise<RawTensor> {
      const source = names.get(name);
      if (!source) throw new ModelLoadError(`${gguf.path}: no tensor maps to ${name}`);
      const shape = gguf.info(source).shape;
      let data = await gguf.read(source);
      if (name.endsWith('q_proj.weight')) data = unpermuteRows(data, shape, config.num_attention_heads as number);
      if (name.endsWith('k_proj.weight')) data = unpermuteRows(data, shape, config.num_key_value_heads as number);
      return { dtype: 'f32', shape, data };
    },
  };
}
