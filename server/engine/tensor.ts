import type { BackendData } from './backend';
import { BYTES_PER_ELEMENT, toF32, type DType } from './dtype';
import type { Engine } from './engine';
import { EngineError, fmtShape } from './errors';
import { sizeOf, type Shape } from './shape';

/** Backend memory shared by a tensor and its reshaped views; freed when the last holder lets go. */
export class Storage {
  refs = 1;
  constructor(
    readonly data: BackendData,
    readonly bytes: number,
  ) {}
}

/**
 * An n-dimensional array on one engine's backend. Tensors are immutable values: ops make new
 * ones. Memory is explicit: `dispose()`, or let an `engine.tidy` scope free what it made.
 * `requiresGrad` tensors (parameters, or a vector being optimised) collect gradients in `grad`.
 */
export class Tensor {
  readonly id: number;
  readonly size: number;
  grad: Tensor | null = null;
  /** True when produced by an op recorded on the tape (then it is not a leaf). */
  hasGradFn = false;
  /** The tidy scope that will free this tensor, if any (engine bookkeeping). */
  scope: Set<Tensor> | null = null;
  private isDisposed = false;

  constructor(
    readonly engine: Engine,
    private store: Storage,
    readonly shape: Shape,
    readonly dtype: DType,
    public requiresGrad: boolean,
    id: number,
  ) {
    this.id = id;
    this.size = sizeOf(shape);
  }

  get rank(): number {
    return this.shape.length;
  }

  get disposed(): boolean {
    return this.isDisposed;
  }

  get storage(): Storage {
    if (this.isDisposed) throw new EngineError('tensor', `tensor #${this.id} ${fmtShape(this.shape)} used after dispose`);
    return this.store;
  }

  /** The backend buffer, for kernels. */
  get data(): BackendData {
    return this.storage.data;
  }

  get bytes(): number {
    return this.size * BYTES_PER_ELEMENT[this.dtype];
  }

  /** Values as f32 (float dtypes converted) or i32. */
  async values(): Promise<Float32Array | Int32Array> {
    const raw = await this.engine.backend.read(this.data, this.dtype, this.size);
    return this.dtype === 'i32' ? (raw as Int32Array) : toF32(raw, this.dtype);
  }

  /** Synchronous values on backends that allow it (CPU); throws on GPU backends. */
  valuesSync(): Float32Array | Int32Array {
    const raw = this.engine.backend.readSync(this.data, this.dtype, this.size);
    if (!raw) throw new EngineError('valuesSync', `backend ${this.engine.backend.name} cannot read synchronously; use await values()`);
    return this.dtype === 'i32' ? (raw as Int32Array) : toF32(raw, this.dtype);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new EngineError('item', `tensor ${fmtShape(this.shape)} has ${this.size} elements, expected 1`);
    return (await this.values())[0]!;
  }

  /** Replaces this tensor's storage with `value`'s (same shape and dtype): how optimisers and
   * edits update a parameter in place. The tape keeps its own hold on the old values. */
  assign(value: Tensor): void {
    if (this.hasGradFn) throw new EngineError('assign', `tensor #${this.id} is the output of an op; only leaves can be assigned`);
    if (value.dtype !== this.dtype || value.shape.length !== this.shape.length || value.shape.some((d, i) => d !== this.shape[i])) {
      throw new EngineError('assign', `target ${fmtShape(this.shape)} ${this.dtype} vs value ${fmtShape(value.shape)} ${value.dtype}`);
    }
    const next = value.storage;
    next.refs++;
    this.engine.releaseStorage(this.storage);
    this.store = next;
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    this.engine.onDispose(this);
    this.engine.releaseStorage(this.store);
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
  }

  toString(): string {
    return `Tensor#${this.id}${fmtShape(this.shape)} ${this.dtype}${this.requiresGrad ? ' requiresGrad' : ''}`;
  }
}
