import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Engine } from '../engine';
import type { EditableLM } from './editable';
import { buildModel, buildSeq2SeqModel, isEncoderDecoder, type DecoderOnlyLM } from './families';
import { openGguf } from './formats/gguf';
import { openCheckpoint } from './formats/safetensors';
import { ggufConfig, ggufTensorSource } from './gguf-checkpoint';
import { LanguageModel } from './lm';
import type { EncoderDecoderLM } from './seq2seq';
import { Seq2SeqLanguageModel } from './seq2seq-lm';
import { Tokenizer } from './tokenizer';
import { tokenizerFromGguf } from './tokenizer/gguf';
import { ModelLoadError } from './weights';

export interface LoadOptions {
  onProgress?: (done: number, total: number) => void;
}

/**
 * Loads a Hugging Face checkpoint folder: config.json + model.safetensors (or shards with an
 * index). Weights become f32 engine tensors on the engine's backend.
 */
export async function loadCheckpointDir(engine: Engine, dir: string, opts: LoadOptions = {}): Promise<DecoderOnlyLM> {
  return buildModel(engine, await openCheckpoint(dir), await readConfig(dir), opts);
}

/** Loads an encoder-decoder (T5) checkpoint folder: config.json + model.safetensors. */
export async function loadSeq2SeqDir(engine: Engine, dir: string, opts: LoadOptions = {}): Promise<EncoderDecoderLM> {
  return buildSeq2SeqModel(engine, await openCheckpoint(dir), await readConfig(dir), opts);
}

/** An encoder-decoder model and its tokenizer from a checkpoint folder with tokenizer.json. */
export async function loadSeq2SeqModel(engine: Engine, dir: string, opts: LoadOptions = {}): Promise<Seq2SeqLanguageModel> {
  if (!existsSync(dir)) throw new ModelLoadError(`${dir}: not found`);
  const tokenizerPath = path.join(dir, 'tokenizer.json');
  if (!existsSync(tokenizerPath)) throw new ModelLoadError(`${dir}: no tokenizer.json beside the checkpoint`);
  const tokenizer = await Tokenizer.fromFile(tokenizerPath);
  const network = await loadSeq2SeqDir(engine, dir, opts);
  if (tokenizer.vocabSize > network.spec.vocabSize) {
    network.dispose();
    throw new ModelLoadError(`${dir}: the tokenizer has ${tokenizer.vocabSize} tokens but the model's embedding has ${network.spec.vocabSize} rows; they do not belong together`);
  }
  return new Seq2SeqLanguageModel(network, tokenizer);
}

async function readConfig(dir: string): Promise<unknown> {
  const configPath = path.join(dir, 'config.json');
  try {
    return JSON.parse(await readFile(configPath, 'utf8'));
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (err as Error).message;
    throw new ModelLoadError(`${configPath}: ${why}`);
  }
}

/** A model and its tokenizer from a checkpoint folder (with tokenizer.json) or a .gguf file. */
export async function loadLanguageModel(engine: Engine, location: string, opts: LoadOptions = {}): Promise<LanguageModel> {
  if (!existsSync(location)) throw new ModelLoadError(`${location}: not found`);
  if (location.endsWith('.gguf')) {
    const gguf = await openGguf(location);
    const tokenizer = tokenizerFromGguf(gguf.metadata);
    const network = await buildModel(engine, ggufTensorSource(gguf), ggufConfig(gguf), opts);
    return checkVocabulary(new LanguageModel(network, tokenizer), location);
  }
  const tokenizerPath = path.join(location, 'tokenizer.json');
  if (!existsSync(tokenizerPath)) throw new ModelLoadError(`${location}: no tokenizer.json beside the checkpoint`);
  const tokenizer = await Tokenizer.fromFile(tokenizerPath);
  return checkVocabulary(new LanguageModel(await loadCheckpointDir(engine, location, opts), tokenizer), location);
}

/** A tokenizer whose ids run past the embedding table belongs to another model. */
function checkVocabulary(lm: LanguageModel, location: string): LanguageModel {
  const modelVocab = lm.network.spec.vocabSize;
  if (lm.tokenizer.vocabSize > modelVocab) {
    lm.network.dispose();
    throw new ModelLoadError(`${location}: the tokenizer has ${lm.tokenizer.vocabSize} tokens but the model's embedding has ${modelVocab} rows; they do not belong together`);
  }
  return lm;
}

/**
 * A model of either architecture from a checkpoint folder or a .gguf file: a folder whose
 * config.json names an encoder-decoder family (T5) loads as a Seq2SeqLanguageModel, anything else
 * as a LanguageModel. For callers that work on both through EditableLM (the hub, `locus eval`,
 * the world report).
 */
export async function loadEditableLM(engine: Engine, location: string, opts: LoadOptions = {}): Promise<EditableLM> {
  return isEncoderDecoderDir(location) ? loadSeq2SeqModel(engine, location, opts) : loadLanguageModel(engine, location, opts);
}

/** Whether `location` is a checkpoint folder whose config.json names an encoder-decoder family. */
export function isEncoderDecoderDir(location: string): boolean {
  const configPath = path.join(location, 'config.json');
  if (location.endsWith('.gguf') || !existsSync(configPath)) return false;
  try {
    return isEncoderDecoder(JSON.parse(readFileSync(configPath, 'utf8')));
  } catch {
    return false; // an unreadable config is reported by the loader, with its path
  }
}
