import { noiseLevelFromEmbeddings } from '../../lib/tracing';
import type { Tensor } from '../engine';
import { embedding } from '../engine/ops';
import type { EditableLM } from '../models/editable';
import type { CausalLM, ModelSpec } from '../models/network';

/**
 * The input embedding table of each family, by checkpoint key. This is model knowledge that belongs
 * to the family (STYLE.md 2); until CausalLM exposes its input embedding, the typed record at least
 * fails to compile when a family is added.
 */
const INPUT_EMBEDDING: Record<ModelSpec['family'], string> = {
  gpt2: 'transformer.wte.weight',
  gptj: 'transformer.wte.weight',
  llama: 'model.embed_tokens.weight',
  neox: 'gpt_neox.embed_in.weight',
};

export function inputEmbedding(network: CausalLM): Tensor {
  const name = INPUT_EMBEDDING[network.spec.family];
  const table = network.params.get(name);
  if (!table) throw new Error(`trace: the ${network.spec.family} model has no input embedding '${name}'`);
  return table;
}

/** Rows of an embedding table [V, D] for these token ids, [ids, hidden], read to the host. */
export function embeddingRows(table: Tensor, ids: readonly number[]): Float32Array {
  const engine = table.engine;
  return engine.noGrad(() => engine.tidy(() => embedding(table, engine.tensor(Int32Array.from(ids), [1, ids.length], 'i32')).valuesSync() as Float32Array));
}

/**
 * ROME's noise level: `multiplier` (3) x the standard deviation of the token embeddings of the
 * subjects' tokens (collect_embedding_std tokenises each subject on its own, without special
 * tokens, and takes the std over every value). Use many subjects for a stable figure; the trace
 * falls back to the traced subject alone. The table is the model's input token embedding (T5: the
 * shared one both stacks read).
 */
export function embeddingNoiseLevel(lm: Pick<EditableLM, 'tokenizer' | 'inputEmbedding'>, subjects: readonly string[], opts: { multiplier?: number } = {}): number {
  const ids = subjects.flatMap((s) => lm.tokenizer.encode(s, { addSpecialTokens: false }).ids);
  if (ids.length === 0) throw new Error('embeddingNoiseLevel: the subjects have no tokens');
  return noiseLevelFromEmbeddings(embeddingRows(lm.inputEmbedding(), ids), opts.multiplier ?? 3);
}
