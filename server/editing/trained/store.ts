/**
 * Trained editors on disk: the networks that MEND (and KE) learn on a train split before they can
 * edit, one safetensors file per model, method and edited layers under the data directory:
 *   $LOCUS_DATA_DIR/editors/<model>/<method>-layers-<l1>-<l2>.safetensors        (the trained editor)
 *   $LOCUS_DATA_DIR/editors/<model>/<method>-layers-<l1>-<l2>.ckpt.safetensors   (training's checkpoint)
 * The model is named by its checkpoint folder (or GGUF file) without extension, so the CLI's
 * `--model data/models/world-gpt2` and the studio's `world-gpt2` find the same file. Tensors are
 * stored flat (f32); what they are is the method's business, with its settings in the metadata.
 */
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { openSafetensors, toFloat32, writeSafetensors } from '../../models/formats/safetensors';
import { dataDir } from '../../storage/sqlite';

export interface TrainedFile {
  tensors: Map<string, Float32Array>;
  meta: Record<string, unknown>;
}

/** No trained editor for this model, method and layers: the message says how to train one. */
export class UntrainedEditorError extends Error {
  override name = 'UntrainedEditorError';
}

const FORMAT = 'locus-trained-editor';

/** The name a model's trained editors are filed under: its folder's or GGUF file's base name. */
export function modelKey(location: string): string {
  const base = path.basename(path.resolve(location)).replace(/\.gguf$/i, '');
  return base.replace(/[^A-Za-z0-9._-]/g, '_') || 'model';
}

export class TrainedEditorStore {
  /** Loaded editors by file, with the file's mtime (a retrained file is read again). */
  private readonly cache = new Map<string, { mtimeMs: number; value: unknown }>();

  constructor(
    /** The folder of this model's editors. */
    readonly dir: string,
    /** The checkpoint location, for the command a message suggests. */
    readonly location: string,
  ) {}

  static forModel(location: string, root: string = dataDir()): TrainedEditorStore {
    return new TrainedEditorStore(path.join(root, 'editors', modelKey(location)), location);
  }

  file(method: string, layers: readonly number[], kind: 'editor' | 'checkpoint' = 'editor'): string {
    return path.join(this.dir, `${method}-layers-${layers.join('-')}${kind === 'checkpoint' ? '.ckpt' : ''}.safetensors`);
  }

  /** The command that trains the missing editor, for error messages. */
  trainCommand(method: string, layers: readonly number[]): string {
    return `npx locus train --method ${method} --model ${this.location} --hparams '{"layers":[${layers.join(',')}]}'`;
  }

  async write(file: string, tensors: ReadonlyMap<string, Float32Array>, meta: Record<string, unknown>): Promise<void> {
    mkdirSync(path.dirname(file), { recursive: true });
    const entries = Object.fromEntries([...tensors].map(([name, data]) => [name, { dtype: 'f32' as const, shape: [data.length], data }]));
    await writeSafetensors(file, entries, { format: FORMAT, meta: JSON.stringify(meta) });
    this.cache.delete(file);
  }

  /** The file's tensors and metadata; null when there is none. */
  async read(file: string): Promise<TrainedFile | null> {
    if (!existsSync(file)) return null;
    const st = await openSafetensors(file);
    if (st.metadata?.format !== FORMAT) throw new Error(`${file} is not a trained editor of Locus (no "${FORMAT}" metadata)`);
    const tensors = new Map<string, Float32Array>();
    for (const name of st.names()) tensors.set(name, toFloat32(await st.read(name)));
    return { tensors, meta: JSON.parse(st.metadata.meta ?? '{}') as Record<string, unknown> };
  }

  remove(file: string): void {
    rmSync(file, { force: true });
    this.cache.delete(file);
  }

  /** `load(file)` once per version of the file (keyed by its mtime); null when there is no file. */
  async cached<T>(file: string, load: (contents: TrainedFile) => T | Promise<T>, dispose?: (value: T) => void): Promise<T | null> {
    if (!existsSync(file)) return null;
    const mtimeMs = statSync(file).mtimeMs;
    const hit = this.cache.get(file);
    if (hit && hit.mtimeMs === mtimeMs) return hit.value as T;
    if (hit && dispose) dispose(hit.value as T);
    const contents = await this.read(file);
    if (!contents) return null;
    const value = await load(contents);
    this.cache.set(file, { mtimeMs, value });
    return value;
  }
}
