/**
 * The one interface the evaluator and the editing methods read a model through, implemented by
 * both architectures: `LanguageModel` (decoder-only, ./lm.ts) and `Seq2SeqLanguageModel` (T5,
 * ./seq2seq-lm.ts). Shared code never asks which one it holds, except a method that cannot work
 * on one (ROME, MEMIT), which refuses through `decoderOnly` with a message that says why.
 *
 * The framing that makes one code path possible: every input is a prompt and a continuation.
 *   - decoder-only: one sequence, prompt ++ continuation; the position predicting continuation
 *     token j is prompt.length − 1 + j;
 *   - encoder-decoder: the prompt goes to the encoder (with the tokenizer's special tokens, T5's
 *     </s>), the decoder reads [start] ++ continuation; the position predicting continuation token
 *     j is decoder position j.
 * "The edit stack" is the layer stack edits and hooks touch: the decoder-only model's layers, T5's
 * decoder (where the target is predicted; T-Patcher's patch sits in the last decoder FFN, as the
 * paper did). Hooks passed here act on that stack; its hook points and layer indices are those of
 * ./hooks.ts.
 */
import type { Engine, Tensor } from '../engine';
import type { EditMemory } from './edit-memory';
import type { AddedSlots } from './ffn-slots';
import type { Hooks } from './hooks';
import type { TargetScore, TextTokenizer, TokenProb } from './lm';
import { LanguageModel } from './lm';

export type Architecture = 'decoder-only' | 'encoder-decoder';

/** Token ids of a prompt and of what follows it (see the framing above). */
export interface PromptIds {
  prompt: readonly number[];
  continuation: readonly number[];
}

/** Sizes of the edit stack. */
export interface EditStackSpec {
  family: string;
  layers: number;
  hidden: number;
  /** Width of the FFN key (the down/out projection's input). */
  mlpHidden: number;
  vocabSize: number;
  /** Longest input the stack reads (T5: no absolute positions, so a practical bound). */
  maxPositions: number;
}

/** What deltas are applied to: parameters by checkpoint key and the FFN slots of the edit stack. */
export interface EditableNetwork {
  readonly engine: Engine;
  readonly params: ReadonlyMap<string, Tensor>;
  readonly slots: AddedSlots;
  readonly memory: EditMemory;
  dispose(): void;
}

/** A padded batch run through the edit stack. */
export interface StackRun {
  /** 1 for real positions of the edit stack, 0 for padding, [B][T]. */
  mask: number[][];
  /** Flat index (b · T + t) of the position that predicts continuation token j of sequence b. */
  row(b: number, j: number): number;
}

export interface EditableLM {
  readonly architecture: Architecture;
  readonly engine: Engine;
  readonly tokenizer: TextTokenizer;
  readonly network: EditableNetwork;
  readonly editSpec: EditStackSpec;
  /** The prompt's ids as the model reads a prompt (with the tokenizer's special tokens). */
  encode(text: string): number[];
  /** Teacher-forced scores of each target after its prompt (target tokens on the predicting side). */
  score(pairs: readonly { prompt: string; target: string }[]): TargetScore[];
  /** The k most likely next (decoder-only) / first decoder (encoder-decoder) tokens per prompt. */
  topK(prompts: readonly string[], k?: number): TokenProb[][];
  /** Greedy continuations. */
  generate(prompts: readonly string[], opts?: { maxNewTokens?: number }): string[];
  /** The FFN down/out projection of a layer of the edit stack, and whether it is stored [in, out]. */
  mlpOutWeight(layer: number): { name: string; transposed: boolean };
  /** The FFN up/in projection whose output is the `mlp_pre` hook point (gated FFNs: the ungated factor). */
  mlpInWeight(layer: number): { name: string; transposed: boolean };
  /** The edit stack's input token embedding table [V, D] (KE reads the request through it). */
  inputEmbedding(): Tensor;
  /** Where each sequence's positions fall in a right-padded batch of `seqs`, without running it. */
  layout(seqs: readonly PromptIds[]): { width: number; row(b: number, j: number): number };
  /** Logits [B, T, V] over the edit stack's positions, hooks on the edit stack (right-padded). */
  teacherForced(seqs: readonly PromptIds[], hooks?: Hooks): StackRun & { logits: Tensor };
  /** The residual [B, T, D] after `layer` of the edit stack, for hooks at or below it. */
  stackToLayer(seqs: readonly PromptIds[], layer: number, hooks: Hooks): StackRun & { residual: Tensor };
  /**
   * Hidden states [B, T, D] of each prompt's tokens, right-padded, in the stack that reads the
   * prompt: the residual after `layer` (decoder-only) or after encoder layer `layer` (encoder-decoder).
   * Run without the edit memory or hooks (SERAC's scope classifier reads these).
   */
  promptStates(prompts: readonly string[], layer: number): { states: Tensor; mask: number[][] };
  /** Final norm and unembedding of a residual after the edit stack's last layer: [B, T, D] → [B, T, V]. */
  head(residual: Tensor): Tensor;
  /** Unrelated text framed as this model reads text (statistics, T-Patcher's memory). */
  textIds(text: string): PromptIds;
  /** Input token embeddings of the edit stack, one [D] row per id. */
  tokenEmbeddings(ids: readonly number[]): Float32Array[];
}

/** A method's refusal of a model of the other architecture: bad input (400 in the studio), fit to show. */
export class UnsupportedArchitectureError extends Error {
  override name = 'UnsupportedArchitectureError';
}

/**
 * A method that only works on decoder-only models narrows with this; the message names the method,
 * the model's family and architecture, and `why`.
 */
export function decoderOnly(lm: EditableLM, method: string, why: string): LanguageModel {
  if (!(lm instanceof LanguageModel)) throw new UnsupportedArchitectureError(`${method} does not edit ${lm.editSpec.family} models (${lm.architecture}): ${why}`);
  return lm;
}
