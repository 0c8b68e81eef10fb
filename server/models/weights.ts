import type { Engine, Tensor } from '../engine';
import { cast } from '../engine/ops';

/** A source of named tensors (a checkpoint, already opened). */
export interface TensorSource {
  names(): string[];
  read(name: string): { dtype: 'f32' | 'f16' | 'bf16' | 'i32'; shape: number[]; data: Float32Array | Uint16Array | Int32Array };
}

export class ModelLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelLoadError';
  }
}

/**
 * Reads the parameters a family asks for, by checkpoint key, as f32 engine tensors (kept: they
 * live as long as the model). Missing keys and shape mismatches are reported all at once.
 */
export class WeightLoader {
  readonly params = new Map<string, Tensor>();
  private readonly problems: string[] = [];
  private readonly available: Set<string>;

  constructor(
    private readonly engine: Engine,
    private readonly source: TensorSource,
    private readonly label: string,
  ) {
    this.available = new Set(source.names());
  }

  has(name: string): boolean {
    return this.available.has(name);
  }

  /** Loads `name` with the expected shape; records a problem instead of throwing, so one load
   * reports every missing or misshapen tensor. */
  take(name: string, shape: readonly number[]): Tensor {
    const existing = this.params.get(name);
    if (existing) return existing;
    if (!this.available.has(name)) {
      this.problems.push(`missing tensor ${name} [${shape.join(',')}]`);
      return this.placeholder(name, shape);
    }
    const { dtype, shape: actual, data } = this.source.read(name);
    if (actual.length !== shape.length || actual.some((d, i) => d !== shape[i])) {
      this.problems.push(`tensor ${name} has shape [${actual.join(',')}], the config implies [${shape.join(',')}]`);
      return this.placeholder(name, shape);
    }
    if (dtype === 'i32') {
      this.problems.push(`tensor ${name} has dtype i32, expected a float type`);
      return this.placeholder(name, shape);
    }
    const stored = this.engine.tensor(data, actual, dtype);
    const t = this.engine.keep(dtype === 'f32' ? stored : this.engine.noGrad(() => cast(stored, 'f32')));
    if (t !== stored) stored.dispose();
    this.params.set(name, t);
    return t;
  }

  private placeholder(name: string, shape: readonly number[]): Tensor {
    const t = this.engine.keep(this.engine.zeros(shape));
    this.params.set(name, t);
    return t;
  }

  /** Throws a ModelLoadError listing every problem, after freeing what was loaded. */
  finish(): Map<string, Tensor> {
    if (this.problems.length) {
      for (const t of this.params.values()) t.dispose();
      const shown = this.problems.slice(0, 12);
      const more = this.problems.length > shown.length ? `\n  ... and ${this.problems.length - shown.length} more` : '';
      throw new ModelLoadError(`${this.label}: checkpoint does not match the model:\n  ${shown.join('\n  ')}${more}`);
    }
    return this.params;
  }
}
