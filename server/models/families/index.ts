import { z } from 'zod';
import type { Engine } from '../../engine';
import { ModelLoadError, WeightLoader, type TensorSource } from '../weights';
import type { DecoderOnlyLM } from './base';
import { buildGpt2, Gpt2Config } from './gpt2';
import { buildGptj, GptjConfig } from './gptj';
import { buildLlama, LlamaConfig } from './llama';
import { buildNeox, NeoxConfig } from './neox';

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

export type ModelType = keyof typeof FAMILIES;
export const MODEL_TYPES = Object.keys(FAMILIES) as ModelType[];

/** Checks a config.json against its family before any weight is read. */
export function parseModelConfig(config: unknown): { type: ModelType; config: unknown } {
  const type = (config as { model_type?: unknown } | null)?.model_type;
  if (typeof type !== 'string' || !(type in FAMILIES)) {
    throw new ModelLoadError(`unknown architecture: model_type ${JSON.stringify(type)}; supported: ${MODEL_TYPES.join(', ')}`);
  }
  const parsed = FAMILIES[type as ModelType].config.safeParse(config);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ModelLoadError(`config.json for ${type} is invalid: ${issues}`);
  }
  return { type: type as ModelType, config: parsed.data };
}

/** Builds the model a config.json describes from a checkpoint's tensors. */
export async function buildModel(
  engine: Engine,
  source: TensorSource,
  rawConfig: unknown,
  opts: { onProgress?: (done: number, total: number) => void } = {},
): Promise<DecoderOnlyLM> {
  const { type, config } = parseModelConfig(rawConfig);
  const weights = await WeightLoader.load(engine, source, type, opts.onProgress);
  return FAMILIES[type].build(engine, weights, config);
}

export { DecoderOnlyLM } from './base';
