/**
 * What a loaded model is, in numbers a page or a report shows, for either architecture: the one
 * place that reads the encoder's depth of an encoder-decoder model (EditableLM exposes only the edit
 * stack, ./editable.ts).
 */
import type { Architecture, EditableLM } from './editable';
import { LanguageModel } from './lm';
import { Seq2SeqLanguageModel } from './seq2seq-lm';

export interface ModelShape {
  architecture: Architecture;
  family: string;
  /** Layers of the edit stack: the decoder-only model's layers, T5's decoder. */
  layers: number;
  /** T5's encoder layers; null for a decoder-only model. */
  encoderLayers: number | null;
  hidden: number;
  heads: number;
  /** The FFN key width. */
  mlpHidden: number;
  vocabSize: number;
  /** The longest input the model reads (T5: the practical bound of ./seq2seq-lm.ts). */
  maxPositions: number;
  /** Parameters held, counted over the checkpoint's tensors. */
  params: number;
}

export function modelShape(lm: EditableLM): ModelShape {
  const { family, layers, hidden, mlpHidden, vocabSize, maxPositions } = lm.editSpec;
  let params = 0;
  for (const t of lm.network.params.values()) params += t.size;
  let heads: number;
  let encoderLayers: number | null = null;
  if (lm instanceof Seq2SeqLanguageModel) {
    heads = lm.network.spec.heads;
    encoderLayers = lm.network.spec.encoderLayers;
  } else if (lm instanceof LanguageModel) {
    heads = lm.network.spec.heads;
  } else {
    throw new Error(`modelShape: a ${lm.architecture} model of family ${family} that is neither a LanguageModel nor a Seq2SeqLanguageModel`);
  }
  return { architecture: lm.architecture, family, layers, encoderLayers, hidden, heads, mlpHidden, vocabSize, maxPositions, params };
}
