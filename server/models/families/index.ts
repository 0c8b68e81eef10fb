import { z } from 'zod';
import type { Engine } from '../../engine';
import { ModelLoadError, type TensorSource } from '../weights';
import type { DecoderOnlyLM } from './base';
import { buildGpt2, Gpt2Config } from './gpt2';
import { buildGptj, GptjConfig } from './gptj';
import { buildLlama, LlamaConfig, type LlamaLayout } from './llama';
import { buildNeox, NeoxConfig } from './neox';

/** config.json's model_type -> the family that builds it. A typed record: one entry per type. */
const FAMILIES = {
  gpt2: (e: Engine, s: TensorSource, c: unknown) => buildGpt2(e, s, Gpt2Config.parse(c)),
  gptj: (e: Engine, s: TensorSource, c: unknown) => buildGptj(e, s, GptjConfig.parse(c)),
  llama: (e: Engine, s: TensorSource, c: unknown, layout?: LlamaLayout) => buildLlama(e, s, LlamaConfig.parse(c), layout),
  mistral: (e: Engine, s: TensorSource, c: unknown, layout?: LlamaLayout) => buildLlama(e, s, LlamaConfig.parse(c), layout),
  gpt_neox: (e: Engine, s: TensorSource, c: unknown) => buildNeox(e, s, NeoxConfig.parse(c)),
} satisfies Record<string, (e: Engine, s: TensorSource, c: unknown, layout?: LlamaLayout) => DecoderOnlyLM>;

export type ModelType = keyof typeof FAMILIES;
export const MODEL_TYPES = Object.keys(FAMILIES) as ModelType[];

/** Builds the model a config.json describes from a checkpoint's tensors. */
export function buildModel(engine: Engine, source: TensorSource, config: unknown, opts: { llamaLayout?: LlamaLayout } = {}): DecoderOnlyLM {
  const type = (config as { model_type?: unknown } | null)?.model_type;
  if (typeof type !== 'string' || !(type in FAMILIES)) {
    throw new ModelLoadError(`unknown architecture: model_type ${JSON.stringify(type)}; supported: ${MODEL_TYPES.join(', ')}`);
  }
  try {
    return FAMILIES[type as ModelType](engine, source, config, opts.llamaLayout);
  } catch (err) {
    if (err instanceof z.ZodError) {
      const issues = err.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      throw new ModelLoadError(`config.json for ${type} is invalid: ${issues}`);
    }
    throw err;
  }
}

export { DecoderOnlyLM } from './base';
export type { LlamaLayout } from './llama';
