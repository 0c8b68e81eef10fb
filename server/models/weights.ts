import type { Engine, Tensor } from '../engine';
import { cast } from '../engine/ops';

export interface RawTensor {
  dtype: 'f32' | 'f16' | 'bf16' | 'i32';
  shape: number[];
  data: Float32Array | Uint16Array | Int32Array;
}

/** A source of named tensors (an opened checkpoint). */
export interface TensorSource {
  names(): string[];
  read(name: string): Promise<RawTensor>;
}

/** Buffers some checkpoints carry that are not parameters (GPT-2's causal-mask "attn.bias",
 * rotary caches): never loaded. */
const NOT_PARAMETERS = /(\.attn\.(masked_)?bias|\.rotary_emb\.inv_freq|\.attention\.(bias|masked_bias))$/;

export class ModelLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelLoadError';
  }
}

/**
 * The parameters of a checkpoint as f32 engine tensors, for a family to take by checkpoint key
 * with the shape its config implies. `load` reads every tensor once (converting each on arrival,
 * so at most one raw tensor is held beside the engine's copies); `finish` reports every missing or
 * misshapen tensor at once and frees what no family took.
 */
export class WeightLoader {
  private readonly loaded = new Map<string, Tensor>();
  private readonly taken = new Map<string, Tensor>();
  private readonly problems: string[] = [];
  private readonly placeholders: Tensor[] = [];

  private constructor(
    private readonly engine: Engine,
    private readonly label: string,
  ) {}

  static async load(engine: Engine, source: TensorSource, label: string, onProgress?: (done: number, total: number) => void): Promise<WeightLoader> {
    const loader = new WeightLoader(engine, label);
    const names = source.names().filter((n) => !NOT_PARAMETERS.test(n));
    // LOCUS_WGPU_WEIGHTS=f16: weight matrices held in f16 on the GPU (rounded once, here), half the
    // memory, every product with one on the f16 kernels. An edited matrix is f32 again.
    const holdHalf = process.env.LOCUS_WGPU_WEIGHTS === 'f16' && engine.backend.holdInF16 !== undefined;
    try {
      for (const [i, name] of names.entries()) {
        const { dtype, shape, data } = await source.read(name);
        if (dtype === 'i32') {
          loader.problems.push(`tensor ${name} has dtype i32, expected a float type`);
          continue;
        }
        const stored = engine.tensor(data, shape, dtype);
        const t = dtype === 'f32' ? stored : engine.noGrad(() => cast(stored, 'f32'));
        if (t !== stored) stored.dispose();
        if (holdHalf && shape.length === 2) engine.backend.holdInF16!(t.data);
        loader.loaded.set(name, engine.keep(t));
        onProgress?.(i + 1, names.length);
      }
    } catch (err) {
      loader.disposeAll();
      throw err;
    }
    return loader;
  }

  has(name: string): boolean {
    return this.loaded.has(name);
  }

  /** The tensor `name`, checked against `shape`; a problem is recorded (not thrown) so that one
   * load reports everything wrong with a checkpoint. */
  take(name: string, shape: readonly number[]): Tensor {
    const t = this.loaded.get(name);
    if (!t) {
      this.problems.push(`missing tensor ${name} [${shape.join(',')}]`);
      return this.placeholder(shape);
    }
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      this.problems.push(`tensor ${name} has shape [${t.shape.join(',')}], the config implies [${shape.join(',')}]`);
      return this.placeholder(shape);
    }
    this.taken.set(name, t);
    return t;
  }

  private placeholder(shape: readonly number[]): Tensor {
    const t = this.engine.keep(this.engine.zeros(shape));
    this.placeholders.push(t);
    return t;
  }

  private disposeAll(): void {
    for (const t of [...this.loaded.values(), ...this.placeholders]) t.dispose();
    this.loaded.clear();
    this.taken.clear();
  }

  /** The taken parameters by key; throws a ModelLoadError listing every problem otherwise. */
  finish(): Map<string, Tensor> {
    if (this.problems.length) {
      this.disposeAll();
      const shown = this.problems.slice(0, 12);
      const more = this.problems.length > shown.length ? `\n  ... and ${this.problems.length - shown.length} more` : '';
      throw new ModelLoadError(`${this.label}: checkpoint does not match the model:\n  ${shown.join('\n  ')}${more}`);
    }
    for (const [name, t] of this.loaded) if (!this.taken.has(name)) t.dispose();
    return new Map(this.taken);
  }
}
