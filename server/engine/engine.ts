import { gaussianArray } from '../../lib/random';
import type { Backend, BackendData } from './backend';
import { BYTES_PER_ELEMENT, fromF32, type AnyTypedArray, type DType } from './dtype';
import { EngineError, fmtShape } from './errors';
import { sizeOf, type Shape } from './shape';
import { Storage, Tensor } from './tensor';

/** One recorded op: how to turn the gradient of its output into gradients of its inputs. */
interface TapeNode {
  op: string;
  /** The op's inputs, for routing gradients (by id) and filling leaves' `grad`. */
  inputs: readonly Tensor[];
  output: Tensor;
  /** Views the backward needs, held by the tape so scopes can free the originals. */
  saved: Tensor[];
  backward: (gradOutput: Tensor, saved: readonly Tensor[]) => readonly (Tensor | null)[];
}

export interface MemoryInfo {
  /** Tensors not yet disposed, including views the tape holds for backward. */
  tensors: number;
  /** Bytes the backend holds. */
  bytes: number;
  /** Ops recorded and awaiting backward. */
  tapeNodes: number;
}

type Values = AnyTypedArray | readonly number[];

/**
 * The engine owns a backend, the autograd tape, tidy scopes and grad mode. It is a value the
 * caller creates and passes around (no global engine), and tensors point back to it.
 */
export class Engine {
  private nextId = 1;
  private liveTensors = 0;
  private readonly scopes: Set<Tensor>[] = [];
  private tape: TapeNode[] = [];
  private noGradDepth = 0;

  constructor(readonly backend: Backend) {}

  // ---- creation --------------------------------------------------------------------------------

  /** Wraps a backend buffer as a new tensor (ops use this for kernel outputs). */
  wrap(data: BackendData, shape: Shape, dtype: DType = 'f32', requiresGrad = false): Tensor {
    const storage = new Storage(data, sizeOf(shape) * BYTES_PER_ELEMENT[dtype]);
    return this.track(new Tensor(this, storage, [...shape], dtype, requiresGrad, this.nextId++));
  }

  /** A tensor from values. Numbers are converted to `dtype`; typed arrays must already match it
   * (Uint16Array holds f16/bf16 bits, as read from a checkpoint). */
  tensor(values: Values, shape: Shape, dtype: DType = 'f32', opts: { requiresGrad?: boolean } = {}): Tensor {
    const size = sizeOf(shape);
    if (values.length !== size) {
      throw new EngineError('tensor', `${values.length} values for shape ${fmtShape(shape)} (${size} elements)`);
    }
    let data: AnyTypedArray;
    if (Array.isArray(values)) data = fromF32(Float32Array.from(values as readonly number[]), dtype);
    else {
      data = values as AnyTypedArray;
      const expected = dtype === 'f32' ? Float32Array : dtype === 'i32' ? Int32Array : Uint16Array;
      if (!(data instanceof expected)) {
        throw new EngineError('tensor', `dtype ${dtype} needs a ${expected.name}, got ${data.constructor.name}`);
      }
    }
    return this.wrap(this.backend.upload(data, dtype), shape, dtype, opts.requiresGrad ?? false);
  }

  scalar(value: number): Tensor {
    return this.tensor([value], []);
  }

  full(shape: Shape, value: number, dtype: DType = 'f32'): Tensor {
    return this.wrap(this.backend.fill(sizeOf(shape), value, dtype), shape, dtype);
  }

  zeros(shape: Shape, dtype: DType = 'f32'): Tensor {
    return this.full(shape, 0, dtype);
  }

  ones(shape: Shape): Tensor {
    return this.full(shape, 1);
  }

  /** Seeded Gaussian values (the same seed gives the same values on every backend). */
  randn(shape: Shape, opts: { seed: number; mean?: number; std?: number }): Tensor {
    return this.tensor(gaussianArray(sizeOf(shape), opts.seed, opts.mean ?? 0, opts.std ?? 1), shape);
  }

  /** A trainable leaf that lives until disposed (not freed by scopes). */
  parameter(values: Values, shape: Shape): Tensor {
    return this.keep(this.tensor(values, shape, 'f32', { requiresGrad: true }));
  }

  /** A view of `x` with another shape (no copy: the storage is shared). */
  view(x: Tensor, shape: Shape): Tensor {
    const storage = x.storage;
    storage.refs++;
    return this.track(new Tensor(this, storage, [...shape], x.dtype, false, this.nextId++));
  }

  // ---- memory ------------------------------------------------------------------------------------

  private track(t: Tensor): Tensor {
    this.liveTensors++;
    const scope = this.scopes[this.scopes.length - 1];
    if (scope) {
      scope.add(t);
      t.scope = scope;
    }
    return t;
  }

  /** Called by Tensor.dispose. */
  onDispose(t: Tensor): void {
    this.liveTensors--;
    t.scope?.delete(t);
    t.scope = null;
  }

  releaseStorage(storage: Storage): void {
    if (--storage.refs === 0) this.backend.free(storage.data);
  }

  /** Takes `t` out of scope management: it lives until disposed explicitly. */
  keep<T extends Tensor>(t: T): T {
    t.scope?.delete(t);
    t.scope = null;
    return t;
  }

  /**
   * Runs `fn` and frees every tensor it made, except those in its result (a tensor, or arrays and
   * plain objects of them), which move to the enclosing scope. Synchronous by design: a scope
   * cannot span an await.
   */
  tidy<T>(fn: () => T): T {
    const scope = new Set<Tensor>();
    this.scopes.push(scope);
    let result: T;
    try {
      result = fn();
    } finally {
      this.scopes.pop();
    }
    const parent = this.scopes[this.scopes.length - 1] ?? null;
    const survivors = new Set<Tensor>();
    collectTensors(result, survivors, 0);
    for (const t of survivors) {
      if (t.scope === scope) {
        scope.delete(t);
        t.scope = parent;
        parent?.add(t);
      }
    }
    for (const t of [...scope]) t.dispose();
    return result;
  }

  memory(): MemoryInfo {
    return { tensors: this.liveTensors, bytes: this.backend.bytesInUse(), tapeNodes: this.tape.length };
  }

  // ---- autograd ----------------------------------------------------------------------------------

  get isRecording(): boolean {
    return this.noGradDepth === 0;
  }

  /** Runs `fn` without recording ops (inference, parameter updates). */
  noGrad<T>(fn: () => T): T {
    this.noGradDepth++;
    try {
      return fn();
    } finally {
      this.noGradDepth--;
    }
  }

  /**
   * Records an op if grad mode is on and any input needs a gradient. `save` lists the tensors the
   * backward reads; the tape holds views of them until the graph is released.
   */
  record(
    op: string,
    inputs: readonly Tensor[],
    output: Tensor,
    save: readonly Tensor[],
    backward: TapeNode['backward'],
  ): Tensor {
    if (!this.isRecording || !inputs.some((t) => t.requiresGrad)) return output;
    output.requiresGrad = true;
    output.hasGradFn = true;
    const saved = save.map((t) => this.keep(this.view(t, t.shape)));
    this.tape.push({ op, inputs, output, saved, backward });
    return output;
  }

  /**
   * Marks `t` as needing a gradient, so ops downstream of it are recorded even when no weight
   * requires one: how gradients with respect to an activation (a hooked MLP output, KN's neurons)
   * are taken from a frozen model. Returns `t`.
   */
  watch(t: Tensor): Tensor {
    if (t.dtype === 'i32') throw new EngineError('watch', `${t} is an index tensor; gradients need a float one`);
    t.requiresGrad = true;
    return t;
  }

  /** Drops the recorded graph without computing gradients. */
  releaseGraph(): void {
    for (const node of this.tape) for (const t of node.saved) t.dispose();
    this.tape = [];
  }

  /**
   * Reverse-mode differentiation of `output` (a scalar unless `seed` is given).
   * With `wrt`, returns the gradients with respect to those tensors (leaves or intermediates such as
   * a hooked activation), in the caller's scope. Without it, accumulates into `grad` of every leaf
   * that requires one. The graph is released afterwards unless `retainGraph`.
   */
  backward(output: Tensor, opts: { seed?: Tensor; retainGraph?: boolean } = {}): void {
    const grads = this.runBackward(output, opts.seed, new Set());
    for (const [, { tensor, grad }] of grads) {
      if (tensor.hasGradFn || !tensor.requiresGrad) {
        grad.dispose();
        continue;
      }
      this.keep(grad);
      if (tensor.grad) {
        const sum = this.keep(this.noGrad(() => addRaw(this, tensor.grad!, grad)));
        tensor.grad.dispose();
        grad.dispose();
        tensor.grad = sum;
      } else tensor.grad = grad;
    }
    if (!opts.retainGraph) this.releaseGraph();
  }

  grad(output: Tensor, wrt: readonly Tensor[], opts: { seed?: Tensor; retainGraph?: boolean } = {}): (Tensor | null)[] {
    const wanted = new Set(wrt.map((t) => t.id));
    const grads = this.runBackward(output, opts.seed, wanted);
    const result = wrt.map((t) => grads.get(t.id)?.grad ?? null);
    for (const [id, { grad }] of grads) if (!wanted.has(id)) grad.dispose();
    if (!opts.retainGraph) this.releaseGraph();
    return result;
  }

  private runBackward(output: Tensor, seed: Tensor | undefined, keepIds: Set<number>) {
    if (!output.requiresGrad) {
      throw new EngineError('backward', `${output} does not require grad: no recorded op leads to it from a tensor that requires grad`);
    }
    if (!seed && output.size !== 1) {
      throw new EngineError('backward', `output ${fmtShape(output.shape)} is not a scalar; pass a seed gradient`);
    }
    if (seed && (seed.shape.length !== output.shape.length || seed.shape.some((d, i) => d !== output.shape[i]))) {
      throw new EngineError('backward', `seed ${fmtShape(seed.shape)} vs output ${fmtShape(output.shape)}`);
    }
    const grads = new Map<number, { tensor: Tensor; grad: Tensor }>();
    grads.set(output.id, { tensor: output, grad: seed ? this.view(seed, seed.shape) : this.ones(output.shape) });
    this.noGrad(() => {
      for (let n = this.tape.length - 1; n >= 0; n--) {
        const node = this.tape[n]!;
        const entry = grads.get(node.output.id);
        if (!entry) continue;
        const inputGrads = this.tidy(() => [...node.backward(entry.grad, node.saved)]);
        // A backward may pass its incoming gradient through (add) or give one tensor to two
        // inputs (x + x): give each input its own view so disposing one leaves the others.
        const seen = new Set<Tensor>([entry.grad]);
        inputGrads.forEach((g, i) => {
          if (!g) return;
          if (seen.has(g)) inputGrads[i] = this.view(g, g.shape);
          seen.add(g);
        });
        if (!keepIds.has(node.output.id)) {
          grads.delete(node.output.id);
          entry.grad.dispose();
        }
        node.inputs.forEach((input, i) => {
          const g = inputGrads[i];
          if (!g) return;
          if (!input.requiresGrad) return void g.dispose();
          if (g.shape.length !== input.shape.length || g.shape.some((d, k) => d !== input.shape[k])) {
            throw new EngineError(node.op, `gradient for input ${i} has shape ${fmtShape(g.shape)}, input is ${fmtShape(input.shape)}`);
          }
          const prior = grads.get(input.id);
          if (prior) {
            prior.grad = addRaw(this, prior.grad, g, true);
          } else grads.set(input.id, { tensor: input, grad: g });
        });
        for (let i = node.inputs.length; i < inputGrads.length; i++) inputGrads[i]?.dispose();
      }
    });
    return grads;
  }
}

/** a + b for same-shape f32 tensors, outside the op layer (the tape must not import ops). */
function addRaw(engine: Engine, a: Tensor, b: Tensor, disposeInputs = false): Tensor {
  const out = engine.wrap(engine.backend.binary('add', a.data, a.shape, b.data, b.shape, a.shape), a.shape);
  if (disposeInputs) {
    a.dispose();
    b.dispose();
  }
  return out;
}

function collectTensors(value: unknown, into: Set<Tensor>, depth: number): void {
  if (value instanceof Tensor) into.add(value);
  else if (depth < 4 && Array.isArray(value)) for (const v of value) collectTensors(v, into, depth + 1);
  else if (depth < 4 && value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, into, depth + 1);
  }
}
