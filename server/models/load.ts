import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Engine } from '../engine';
import { buildModel, type DecoderOnlyLM } from './families';
import { openCheckpoint } from './formats/safetensors';
import { ModelLoadError } from './weights';

/**
 * Loads a Hugging Face checkpoint folder: config.json + model.safetensors (or shards with an
 * index). Weights become f32 engine tensors on the engine's backend.
 */
export async function loadCheckpointDir(engine: Engine, dir: string, opts: { onProgress?: (done: number, total: number) => void } = {}): Promise<DecoderOnlyLM> {
  const configPath = path.join(dir, 'config.json');
  let config: unknown;
  try {
    config = JSON.parse(await readFile(configPath, 'utf8'));
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (err as Error).message;
    throw new ModelLoadError(`${configPath}: ${why}`);
  }
  const checkpoint = await openCheckpoint(dir);
  return buildModel(engine, checkpoint, config, opts);
}
