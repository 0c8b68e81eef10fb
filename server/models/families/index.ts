import { z } from 'zod';
import type { Engine } from '../../engine';
import { ModelLoadError, WeightLoader, type TensorSource } from '../weights';
import type { DecoderOnlyLM } from './base';
import { buildGpt2, Gpt2Config } from './gpt2';
import { buildGptj, GptjConfig } from './gptj';
import { buildLlama, LlamaConfig } from './llama';
import { buildNeox, NeoxConfig } from './neox';
import type { EncoderDecoderLM } from '../seq2seq';
import { buildT5, T5Config } from './t5';

interface Family<C> {
  config: z.ZodType<C>;
  build(engine: Engine, weights: WeightLoader, config: C): DecoderOnlyLM;
}

const family = <C>(f: Family<C>) => f as Family<unknown>;

/** config.json's model_type -> its family. A typed record: one entry per supported type. */
const FAMILIES = {
  gpt2: family({ config: Gpt2Config, build: buildGpt2 }),
  gptj: family({ config: GptjConfig, build: buildGptj }),
  llama: family({ config: LlamaConfig, build: buildLlama }),
  mistral: family({ config: LlamaConfig, build: buildLlama }),
  gpt_neox: family({ config: NeoxConfig, build: buildNeox }),
} satisfies Record<string, Family<unknown>>;

interface Seq2SeqFamily<C> {
  config: z.ZodType<C>;
  build(engine: Engine, weights: WeightLoader, config: C): EncoderDecoderLM;
}

const seq2seqFamily = <C>(f: Seq2SeqFamily<C>) => f as Seq2SeqFamily<unknown>;

/**
 * The encoder-decoder model types: the one place that says which families are seq2seq
 * (../seq2seq.ts explains why they sit behind their own interface).
 */
const ENCODER_DECODER_FAMILIES = {
  t5: seq2seqFamily({ config: T5Config, build: buildT5 }),
} satisfies Record<string, Seq2SeqFamily<unknown>>;

export type ModelType = keyof typeof FAMILIES;
export type Seq2SeqModelType = keyof typeof ENCODER_DECODER_FAMILIES;
export const MODEL_TYPES = Object.keys(FAMILIES) as ModelType[];
export const SEQ2SEQ_MODEL_TYPES = Object.keys(ENCODER_DECODER_FAMILIES) as Seq2SeqModelType[];

/** Whether a config.json (or its model_type) describes an encoder-decoder model. */
export function isEncoderDecoder(config: unknown): boolean {
  const type = typeof config === 'string' ? config : (config as { model_type?: unknown } | null)?.model_type;
  return typeof type === 'string' && type in ENCODER_DECODER_FAMILIES;
}

/** What a decoder-only loader says about an encoder-decoder checkpoint. */
export class EncoderDecoderNotSupportedError extends ModelLoadError {
  constructor(type: string) {
    super(
      `model_type ${type} is an encoder-decoder model: it loads for scoring and generation (loadSeq2SeqModel), ` +
        `but causal tracing and the editing methods (ROME, MEMIT and the others) support only decoder-only models (${MODEL_TYPES.join(', ')}) yet`,
    );
    this.name = 'EncoderDecoderNotSupportedError';
  }
}

function parseWith<T extends string>(families: Record<T, { config: z.ZodType<unknown> }>, config: unknown): { type: T; config: unknown } {
  const type = (config as { model_type?: unknown } | null)?.model_type;
  if (typeof type !== 'string' || !(type in families)) {
    const supported = [...MODEL_TYPES, ...SEQ2SEQ_MODEL_TYPES].join(', ');
    throw new ModelLoadError(`unknown architecture: model_type ${JSON.stringify(type)}; supported: ${supported}`);
  }
  const parsed = families[type as T].config.safeParse(config);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ModelLoadError(`config.json for ${type} is invalid: ${issues}`);
  }
  return { type: type as T, config: parsed.data };
}

/** Checks a decoder-only config.json against its family before any weight is read. */
export function parseModelConfig(config: unknown): { type: ModelType; config: unknown } {
  if (isEncoderDecoder(config)) throw new EncoderDecoderNotSupportedError((config as { model_type: string }).model_type);
  return parseWith(FAMILIES, config);
}

/** Checks an encoder-decoder config.json against its family. */
export function parseSeq2SeqConfig(config: unknown): { type: Seq2SeqModelType; config: unknown } {
  const type = (config as { model_type?: unknown } | null)?.model_type;
  if (typeof type === 'string' && type in FAMILIES) throw new ModelLoadError(`model_type ${type} is a decoder-only model; load it with loadLanguageModel`);
  return parseWith(ENCODER_DECODER_FAMILIES, config);
}

type BuildOptions = { onProgress?: (done: number, total: number) => void };

/** Builds the decoder-only model a config.json describes from a checkpoint's tensors. */
export async function buildModel(engine: Engine, source: TensorSource, rawConfig: unknown, opts: BuildOptions = {}): Promise<DecoderOnlyLM> {
  const { type, config } = parseModelConfig(rawConfig);
  const weights = await WeightLoader.load(engine, source, type, opts.onProgress);
  return FAMILIES[type].build(engine, weights, config);
}

/** Builds the encoder-decoder model a config.json describes from a checkpoint's tensors. */
export async function buildSeq2SeqModel(engine: Engine, source: TensorSource, rawConfig: unknown, opts: BuildOptions = {}): Promise<EncoderDecoderLM> {
  const { type, config } = parseSeq2SeqConfig(rawConfig);
  const weights = await WeightLoader.load(engine, source, type, opts.onProgress);
  return ENCODER_DECODER_FAMILIES[type].build(engine, weights, config);
}

export { DecoderOnlyLM } from './base';
