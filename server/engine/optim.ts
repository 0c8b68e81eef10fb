import type { Engine } from './engine';
import type { Tensor } from './tensor';
import { add, addScalar, div, mulScalar, sqrt, square, sub } from './ops';

/** Optimisers update parameters in place (Tensor.assign) from their `grad`, outside the tape. */
export interface Optimizer {
  step(): void;
  zeroGrad(): void;
  /** Frees the optimiser's state (moment estimates). */
  dispose(): void;
}

abstract class BaseOptimizer implements Optimizer {
  protected readonly engine: Engine;

  constructor(protected readonly params: readonly Tensor[]) {
    const first = params[0];
    if (!first) throw new Error('optimizer: no parameters');
    this.engine = first.engine;
  }

  abstract step(): void;

  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  dispose(): void {}

  protected update(p: Tensor, next: Tensor): void {
    p.assign(next);
    next.dispose();
  }
}

export class SGD extends BaseOptimizer {
  constructor(
    params: readonly Tensor[],
    private readonly opts: { lr: number; weightDecay?: number },
  ) {
    super(params);
  }

  step(): void {
    const { lr, weightDecay = 0 } = this.opts;
    for (const p of this.params) {
      if (!p.grad) continue;
      const grad = p.grad;
      this.engine.noGrad(() =>
        this.engine.tidy(() => {
          const g = weightDecay ? add(grad, mulScalar(p, weightDecay)) : grad;
          this.update(p, this.engine.keep(sub(p, mulScalar(g, lr))));
        }),
      );
    }
  }
}

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** AdamW: decay the weights directly instead of adding weightDecay * p to the gradient. */
  decoupled?: boolean;
}

/** Adam (Kingma & Ba) and AdamW (Loshchilov & Hutter), as torch.optim implements them. */
export class Adam extends BaseOptimizer {
  private t = 0;
  private readonly m = new Map<Tensor, Tensor>();
  private readonly v = new Map<Tensor, Tensor>();

  constructor(
    params: readonly Tensor[],
    private readonly opts: AdamOptions,
  ) {
    super(params);
  }

  step(): void {
    const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0, decoupled = false } = this.opts;
    this.t++;
    const c1 = 1 - beta1 ** this.t;
    const c2 = 1 - beta2 ** this.t;
    const e = this.engine;
    for (const p of this.params) {
      const grad = p.grad;
      if (!grad) continue;
      e.noGrad(() =>
        e.tidy(() => {
          const g = weightDecay && !decoupled ? add(grad, mulScalar(p, weightDecay)) : grad;
          const m0 = this.m.get(p);
          const v0 = this.v.get(p);
          const m = e.keep(m0 ? add(mulScalar(m0, beta1), mulScalar(g, 1 - beta1)) : mulScalar(g, 1 - beta1));
          const v = e.keep(v0 ? add(mulScalar(v0, beta2), mulScalar(square(g), 1 - beta2)) : mulScalar(square(g), 1 - beta2));
          m0?.dispose();
          v0?.dispose();
          this.m.set(p, m);
          this.v.set(p, v);
          const stepDir = div(mulScalar(m, 1 / c1), addScalar(sqrt(mulScalar(v, 1 / c2)), eps));
          const base = weightDecay && decoupled ? mulScalar(p, 1 - lr * weightDecay) : p;
          this.update(p, e.keep(sub(base, mulScalar(stepDir, lr))));
        }),
      );
    }
  }

  /** Step count and moment estimates per parameter (in the order given), for a checkpoint. */
  state(): { t: number; m: (Float32Array | null)[]; v: (Float32Array | null)[] } {
    const read = (map: Map<Tensor, Tensor>) => this.params.map((p) => (map.has(p) ? Float32Array.from(map.get(p)!.valuesSync()) : null));
    return { t: this.t, m: read(this.m), v: read(this.v) };
  }

  /** Restores what `state` returned: the next step continues as if never interrupted. */
  loadState(state: { t: number; m: readonly (Float32Array | null)[]; v: readonly (Float32Array | null)[] }): void {
    if (state.m.length !== this.params.length || state.v.length !== this.params.length) {
      throw new Error(`Adam.loadState: ${state.m.length} moment estimates for ${this.params.length} parameters`);
    }
    this.dispose();
    this.t = state.t;
    this.params.forEach((p, i) => {
      for (const [map, values] of [[this.m, state.m[i]], [this.v, state.v[i]]] as const) {
        if (!values) continue;
        if (values.length !== p.size) throw new Error(`Adam.loadState: parameter ${i} has ${p.size} values, its moment ${values.length}`);
        map.set(p, this.engine.keep(this.engine.tensor(values, p.shape)));
      }
    });
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}

export class AdamW extends Adam {
  constructor(params: readonly Tensor[], opts: Omit<AdamOptions, 'decoupled'>) {
    super(params, { weightDecay: 0.01, ...opts, decoupled: true });
  }
}


