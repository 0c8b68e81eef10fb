/**
 * MEND's editor networks (eric-mitchell/mend algs/mend.py GradientTransform, nn.py IDMLP/LRLinear).
 * For an edited weight W the gradient of the edit loss is Σ_t u_t δ_tᵀ (u: the layer's input at
 * token t, δ: the loss gradient at its output). Each (u_t, δ_t) pair is standardised with running
 * statistics, concatenated, and passed through an MLP of low-rank residual layers initialised to the
 * identity; its output splits into (ũ_t, δ̃_t) and the edit is W' = W − α · Σ_t ũ_t δ̃_tᵀ, with one
 * learned α per weight. Weights of one shape share an MLP ("shared: true"); each of them is a "mode"
 * of it with its own scale and shift of every layer's pre-activation.
 */
import { gaussianArray } from '../../../lib/random';
import type { Engine, Tensor } from '../../engine';
import { add, concat, matmul, maximum, mul, narrow } from '../../engine/ops';
import type { EditableLM } from '../../models/editable';
import type { MendHparams } from './hparams';

/** One weight MEND edits: the layer's up/in or down/out projection. */
export interface EditedWeight {
  layer: number;
  projection: 'in' | 'out';
  /** Checkpoint key. */
  name: string;
  /** Stored [in, out] (GPT-2's Conv1D) instead of [out, in]. */
  transposed: boolean;
  /** Width of the layer's input u and of its output gradient δ. */
  inDim: number;
  outDim: number;
  /** The MLP this weight goes through (by shape) and its mode there. */
  group: string;
  mode: number;
}

export function editedWeights(lm: EditableLM, hp: Pick<MendHparams, 'layers' | 'projections'>): EditedWeight[] {
  const { hidden, mlpHidden, layers } = lm.editSpec;
  const modes = new Map<string, number>();
  const out: EditedWeight[] = [];
  for (const layer of hp.layers) {
    if (layer >= layers) throw new Error(`MEND: layer ${layer} does not exist (the model has ${layers})`);
    for (const projection of hp.projections) {
      const { name, transposed } = projection === 'in' ? lm.mlpInWeight(layer) : lm.mlpOutWeight(layer);
      const [inDim, outDim] = projection === 'in' ? [hidden, mlpHidden] : [mlpHidden, hidden];
      const group = `${inDim}x${outDim}`;
      const mode = modes.get(group) ?? 0;
      modes.set(group, mode + 1);
      out.push({ layer, projection, name, transposed, inDim, outDim, group, mode });
    }
  }
  return out;
}

/** Per-dimension running mean and variance (Welford's update, as MEND's update_counter). */
export class RunningNorm {
  count = 0;
  readonly mean: Float64Array;
  readonly m2: Float64Array;

  constructor(readonly dim: number) {
    this.mean = new Float64Array(dim);
    this.m2 = new Float64Array(dim);
  }

  /** Adds `n` rows of `dim` values. */
  update(rows: Float32Array, n: number): void {
    for (let r = 0; r < n; r++) {
      this.count++;
      for (let i = 0; i < this.dim; i++) {
        const x = rows[r * this.dim + i]!;
        const d = x - this.mean[i]!;
        this.mean[i]! += d / this.count;
        this.m2[i]! += d * (x - this.mean[i]!);
      }
    }
  }

  /**
   * (x − mean) / (std + 1e-7), row by row (MEND's norm: true). Before a second sample there is no
   * variance: MEND raises there; we divide by 1 instead, so a first step that saw one token (the
   * last layer's δ is non-zero only where a target is predicted) trains rather than fails.
   */
  apply(rows: Float32Array, n: number): Float32Array {
    if (this.count < 1) throw new Error('MEND: the normaliser has seen no sample (an untrained editor)');
    const out = new Float32Array(n * this.dim);
    for (let i = 0; i < this.dim; i++) {
      const std = this.count < 2 ? 1 : Math.sqrt(this.m2[i]! / (this.count - 1)) + 1e-7;
      for (let r = 0; r < n; r++) out[r * this.dim + i] = (rows[r * this.dim + i]! - this.mean[i]!) / std;
    }
    return out;
  }

  /** [count, mean..., m2...] as f32 for the editor file (f64 would be exact; f32 is ample here). */
  toArray(): Float32Array {
    return Float32Array.from([this.count, ...this.mean, ...this.m2]);
  }

  static fromArray(dim: number, values: Float32Array): RunningNorm {
    if (values.length !== 1 + 2 * dim) throw new Error(`MEND: normaliser of width ${dim} needs ${1 + 2 * dim} values, got ${values.length}`);
    const norm = new RunningNorm(dim);
    norm.count = values[0]!;
    norm.mean.set(values.subarray(1, 1 + dim));
    norm.m2.set(values.subarray(1 + dim));
    return norm;
  }
}

/** One low-rank residual layer: x + act((x Vᵀ) Uᵀ + b) ⊙ scale[mode] + shift[mode]. */
interface LowRankLayer {
  /** [rank, D], Gaussian (MEND init "id": v = randn). */
  v: Tensor;
  /** [D, rank], zeros: the layer starts as the identity. */
  u: Tensor;
  bias: Tensor;
  /** [modes, D]: ones and zeros. */
  scale: Tensor;
  shift: Tensor;
}

/** The MLP over u ⊕ δ for weights of one shape (MEND "combine: true"). */
export class GradientTransform {
  readonly layers: LowRankLayer[];
  readonly uNorm: RunningNorm;
  readonly deltaNorm: RunningNorm;

  constructor(
    private readonly engine: Engine,
    readonly inDim: number,
    readonly outDim: number,
    readonly modes: number,
    hp: Pick<MendHparams, 'rank' | 'nHidden'>,
    seed: number,
  ) {
    const width = inDim + outDim;
    const rank = Math.min(hp.rank, width);
    this.layers = Array.from({ length: hp.nHidden + 1 }, (_, i) => ({
      v: engine.parameter(gaussianArray(rank * width, seed + 1000 * i), [rank, width]),
      u: engine.parameter(new Float32Array(width * rank), [width, rank]),
      bias: engine.parameter(new Float32Array(width), [width]),
      scale: engine.parameter(new Float32Array(modes * width).fill(1), [modes, width]),
      shift: engine.parameter(new Float32Array(modes * width), [modes, width]),
    }));
    this.uNorm = new RunningNorm(inDim);
    this.deltaNorm = new RunningNorm(outDim);
  }

  get width(): number {
    return this.inDim + this.outDim;
  }

  parameters(): Tensor[] {
    return this.layers.flatMap((l) => [l.v, l.u, l.bias, l.scale, l.shift]);
  }

  /**
   * (ũ, δ̃) for `n` token rows of u [n, inDim] and δ [n, outDim] (host arrays, standardised here),
   * as graph tensors [n, inDim] and [n, outDim]: differentiable in the MLP's parameters.
   */
  forward(u: Float32Array, delta: Float32Array, n: number, mode: number): { u: Tensor; delta: Tensor } {
    const e = this.engine;
    if (mode < 0 || mode >= this.modes) throw new Error(`MEND: mode ${mode} of a ${this.modes}-mode editor`);
    let x = concat([e.tensor(this.uNorm.apply(u, n), [n, this.inDim]), e.tensor(this.deltaNorm.apply(delta, n), [n, this.outDim])], 1); // [n, D]
    this.layers.forEach((layer, i) => {
      const low = matmul(matmul(x, layer.v, { transB: true }), layer.u, { transB: true }); // [n, rank] -> [n, D]
      const pre = add(mul(add(low, layer.bias), narrow(layer.scale, 0, mode, 1)), narrow(layer.shift, 0, mode, 1));
      // max(pre, 0) sends the gradient through at 0, as torch's clamp(min=0) in MEND does: at the
      // identity init every pre-activation is exactly 0, and relu's zero slope there would freeze
      // the hidden layer for good.
      const act = i < this.layers.length - 1 ? maximum(pre, e.scalar(0)) : pre;
      x = add(x, act);
    });
    return { u: narrow(x, 1, 0, this.inDim), delta: narrow(x, 1, this.inDim, this.outDim) };
  }

  dispose(): void {
    for (const p of this.parameters()) p.dispose();
  }
}

/** Everything MEND learns for one model: one transform per weight shape and α per edited weight. */
export class MendNetworks {
  readonly weights: EditedWeight[];
  readonly transforms = new Map<string, GradientTransform>();
  /** α per edited weight, [1] each. */
  readonly alphas: Tensor[];

  constructor(engine: Engine, lm: EditableLM, hp: Pick<MendHparams, 'layers' | 'projections' | 'rank' | 'nHidden' | 'editLr' | 'seed'>) {
    this.weights = editedWeights(lm, hp);
    let k = 0;
    for (const w of this.weights) {
      if (this.transforms.has(w.group)) continue;
      const modes = this.weights.filter((x) => x.group === w.group).length;
      this.transforms.set(w.group, new GradientTransform(engine, w.inDim, w.outDim, modes, hp, hp.seed + 7919 * k++));
    }
    this.alphas = this.weights.map(() => engine.parameter(Float32Array.of(hp.editLr), [1]));
  }

  transform(w: EditedWeight): GradientTransform {
    return this.transforms.get(w.group)!;
  }

  parameters(): Tensor[] {
    return [...this.transforms.values()].flatMap((t) => t.parameters());
  }

  /** Every learned tensor and normaliser by a stable name (the editor file's keys). */
  named(): Map<string, { tensor?: Tensor; norm?: RunningNorm; shape: number[] }> {
    const out = new Map<string, { tensor?: Tensor; norm?: RunningNorm; shape: number[] }>();
    for (const [group, t] of this.transforms) {
      t.layers.forEach((layer, i) => {
        for (const key of ['v', 'u', 'bias', 'scale', 'shift'] as const) out.set(`${group}.layer${i}.${key}`, { tensor: layer[key], shape: [...layer[key].shape] });
      });
      out.set(`${group}.norm.u`, { norm: t.uNorm, shape: [1 + 2 * t.inDim] });
      out.set(`${group}.norm.delta`, { norm: t.deltaNorm, shape: [1 + 2 * t.outDim] });
    }
    this.weights.forEach((w, i) => out.set(`alpha.${w.name}`, { tensor: this.alphas[i]!, shape: [1] }));
    return out;
  }

  /** The values of every named entry (host copies). */
  values(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [name, entry] of this.named()) out.set(name, entry.tensor ? Float32Array.from(entry.tensor.valuesSync()) : entry.norm!.toArray());
    return out;
  }

  /** Loads values saved by `values`; every name must be there with its shape. */
  load(values: ReadonlyMap<string, Float32Array>): void {
    for (const [name, entry] of this.named()) {
      const v = values.get(name);
      const size = entry.shape.reduce((a, b) => a * b, 1);
      if (!v) throw new Error(`MEND editor file has no ${name}`);
      if (v.length !== size) throw new Error(`MEND editor file: ${name} has ${v.length} values, expected [${entry.shape}]`);
      if (entry.tensor) {
        const loaded = entry.tensor.engine.tensor(v, entry.shape);
        entry.tensor.assign(loaded);
        loaded.dispose();
      } else {
        const loaded = RunningNorm.fromArray(entry.norm!.dim, v);
        entry.norm!.count = loaded.count;
        entry.norm!.mean.set(loaded.mean);
        entry.norm!.m2.set(loaded.m2);
      }
    }
  }

  dispose(): void {
    for (const t of this.transforms.values()) t.dispose();
    for (const a of this.alphas) a.dispose();
  }
}
