/**
 * KE's hyper-network (nicola-decao/KnowledgeEditor one_shot_learner.py): a bidirectional LSTM reads
 * the request ("old >> new || prompt", zsRE's `cond`), its two final states go through a tanh layer
 * into a condition vector c, and for each edited weight W [m, n] a small MLP maps c to
 * (col_a [n], row_a [m], col_b [n], row_b [m], η); with A = softmax(row_a) col_aᵀ and
 * B = softmax(row_b) col_bᵀ (rank one each), the update is ΔW = maxScale · σ(η) · (∇W ⊙ A + B).
 * Deviations: the token embeddings are the model's own, frozen (KE trains a copy); no weight norm.
 */
import { gaussianArray } from '../../../lib/random';
import type { Engine, Tensor } from '../../engine';
import { add, concat, embedding, matmul, mul, narrow, reshape, sigmoid, softmax, tanh } from '../../engine/ops';
import type { EditableLM } from '../../models/editable';
import { editedWeights, type EditedWeight } from '../mend/editor-net';
import type { KeHparams } from './hparams';

interface Linear {
  weight: Tensor; // [out, in]
  bias: Tensor; // [out]
}

function linear(engine: Engine, inDim: number, outDim: number, seed: number): Linear {
  // PyTorch's default scale (uniform ±1/√in has std 1/√(3 in)); Gaussian here
  return { weight: engine.parameter(gaussianArray(outDim * inDim, seed, 0, 1 / Math.sqrt(3 * inDim)), [outDim, inDim]), bias: engine.parameter(new Float32Array(outDim), [outDim]) };
}

const apply = (l: Linear, x: Tensor): Tensor => add(matmul(x, l.weight, { transB: true }), l.bias);

/** One LSTM direction: gates i, f, g, o as PyTorch orders them. */
interface LstmCell {
  input: Linear; // [4H, E]
  hidden: Tensor; // [4H, H]
}

export class KeNetworks {
  readonly weights: EditedWeight[];
  private readonly cells: [LstmCell, LstmCell];
  private readonly condition: Linear;
  private readonly conditioners: { first: Linear; second: Linear }[];
  private readonly embeddings: Tensor;

  constructor(
    private readonly engine: Engine,
    lm: EditableLM,
    private readonly hp: Pick<KeHparams, 'layers' | 'projections' | 'lstmHidden' | 'conditionDim' | 'hidden' | 'maxScale' | 'seed'>,
  ) {
    this.weights = editedWeights(lm, hp);
    this.embeddings = lm.inputEmbedding();
    const E = lm.editSpec.hidden;
    const H = hp.lstmHidden;
    const cell = (seed: number): LstmCell => ({ input: linear(engine, E, 4 * H, seed), hidden: engine.parameter(gaussianArray(4 * H * H, seed + 1, 0, 1 / Math.sqrt(3 * H)), [4 * H, H]) });
    this.cells = [cell(hp.seed + 1), cell(hp.seed + 3)];
    this.condition = linear(engine, 2 * H, hp.conditionDim, hp.seed + 5);
    this.conditioners = this.weights.map((w, i) => ({ first: linear(engine, hp.conditionDim, hp.hidden, hp.seed + 11 + 2 * i), second: linear(engine, hp.hidden, 2 * (w.inDim + w.outDim) + 1, hp.seed + 12 + 2 * i) }));
  }

  parameters(): Tensor[] {
    const lin = (l: Linear) => [l.weight, l.bias];
    return [...this.cells.flatMap((c) => [...lin(c.input), c.hidden]), ...lin(this.condition), ...this.conditioners.flatMap((c) => [...lin(c.first), ...lin(c.second)])];
  }

  /** The condition vector c [1, conditionDim] of a request's token ids. */
  conditionOf(ids: readonly number[]): Tensor {
    const e = this.engine;
    const H = this.hp.lstmHidden;
    const x = embedding(this.embeddings, e.tensor(Int32Array.from(ids), [ids.length], 'i32')); // [T, E]
    const finals = this.cells.map((cell, direction) => {
      const projected = apply(cell.input, x); // [T, 4H]
      let h = e.tensor(new Float32Array(H), [1, H]);
      let c = e.tensor(new Float32Array(H), [1, H]);
      for (let s = 0; s < ids.length; s++) {
        const t = direction === 0 ? s : ids.length - 1 - s;
        const gates = add(narrow(projected, 0, t, 1), matmul(h, cell.hidden, { transB: true })); // [1, 4H]
        const [i, f, g, o] = [0, 1, 2, 3].map((k) => narrow(gates, 1, k * H, H));
        c = add(mul(sigmoid(f!), c), mul(sigmoid(i!), tanh(g!)));
        h = mul(sigmoid(o!), tanh(c));
      }
      return h;
    });
    return tanh(apply(this.condition, concat(finals, 1))); // [1, conditionDim]
  }

  /** ΔW of edited weight i in its stored layout, from c and the edit gradient ∇W (stored layout). */
  update(i: number, condition: Tensor, grad: Tensor): Tensor {
    const w = this.weights[i]!;
    const [rows, cols] = w.transposed ? [w.inDim, w.outDim] : [w.outDim, w.inDim];
    const { first, second } = this.conditioners[i]!;
    const out = apply(second, tanh(apply(first, condition))); // [1, 2(rows + cols) + 1]
    const part = (at: number, size: number) => narrow(out, 1, at, size);
    const colA = part(0, cols);
    const rowA = softmax(part(cols, rows));
    const colB = part(cols + rows, cols);
    const rowB = softmax(part(2 * cols + rows, rows));
    const eta = part(2 * (cols + rows), 1);
    const outer = (row: Tensor, col: Tensor) => matmul(reshape(row, [rows, 1]), col); // [rows, 1] @ [1, cols]
    const scale = mul(sigmoid(eta), this.engine.scalar(this.hp.maxScale)); // [1, 1]
    return mul(add(mul(grad, outer(rowA, colA)), outer(rowB, colB)), scale);
  }

  named(): Map<string, Tensor> {
    return new Map(this.parameters().map((p, i) => [`p${i}`, p]));
  }

  values(): Map<string, Float32Array> {
    return new Map([...this.named()].map(([k, t]) => [k, Float32Array.from(t.valuesSync())]));
  }

  load(values: ReadonlyMap<string, Float32Array>): void {
    for (const [name, t] of this.named()) {
      const v = values.get(name);
      if (!v || v.length !== t.size) throw new Error(`KE editor file: ${name} ${v ? `has ${v.length} values, expected [${t.shape}]` : 'is missing'}`);
      const loaded = this.engine.tensor(v, t.shape);
      t.assign(loaded);
      loaded.dispose();
    }
  }

  dispose(): void {
    for (const p of this.parameters()) p.dispose();
  }
}
