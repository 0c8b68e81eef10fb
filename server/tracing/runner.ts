import type { CorruptedRow, RunnerSetup, TraceKind, TraceRunner } from '../../lib/tracing';
import type { Tensor } from '../engine';
import { add, broadcastTo, logSoftmax, narrow, where } from '../engine/ops';
import { captureInto, Hooks, type HookPoint } from '../models/hooks';
import { KVCache, type CausalLM } from '../models/network';

/** The hook point each kind restores (ROME: transformer.h.{l}, .mlp, .attn outputs). */
export const KIND_HOOK_POINTS: Record<TraceKind, HookPoint> = {
  hidden: 'resid_post',
  mlp: 'mlp_out',
  attn: 'attn_out',
};

export interface EngineTraceRunnerOptions {
  /**
   * Run the tokens before the subject once, on the clean run, and start every corrupted pass from
   * their keys and values (a KV cache) instead of recomputing them: they are identical in every
   * run, since noise and restorations only touch the subject and after. Saves prefix/prompt of the
   * work ("The mother tongue of" is 4 of 10 tokens). Default true.
   */
  sharePrefix?: boolean;
}

/**
 * The engine's trace runner: noise goes onto the 'embed' hook point (token embeddings, plus
 * learned positions for GPT-2; adding to the sum equals adding to the token embedding, ROME's
 * transformer.wte), clean states are captured on the clean run and written back with `where`, so
 * a restored value is bit-identical to the clean one. Every pass is a no-grad tidy scope.
 */
export class EngineTraceRunner implements TraceRunner {
  readonly layers: number;
  readonly hidden: number;
  private readonly sharePrefix: boolean;
  private setup: RunnerSetup | null = null;
  /** Tokens before the subject whose keys and values `prefix` holds (0: none shared). */
  private prefixLength = 0;
  private prefix: KVCache | null = null;
  /** Clean states by "point.layer", [1, T - prefixLength, D], kept until dispose. */
  private readonly cleanStates = new Map<string, Tensor>();

  constructor(
    private readonly network: CausalLM,
    opts: EngineTraceRunnerOptions = {},
  ) {
    this.layers = network.spec.layers;
    this.hidden = network.spec.hidden;
    this.sharePrefix = opts.sharePrefix ?? true;
  }

  async clean(setup: RunnerSetup): Promise<number> {
    const { ids, subject, targetId, noise, samples } = setup;
    const subjectTokens = subject.end - subject.start;
    if (subject.start < 0 || subject.end > ids.length || subjectTokens <= 0) throw new Error(`trace: subject tokens [${subject.start}, ${subject.end}) outside the prompt's ${ids.length} tokens`);
    if (noise.length !== samples * subjectTokens * this.hidden) {
      throw new Error(`trace: noise has ${noise.length} values, expected samples x subject tokens x hidden = ${samples} x ${subjectTokens} x ${this.hidden}`);
    }
    if (!Number.isInteger(targetId) || targetId < 0 || targetId >= this.network.spec.vocabSize) throw new Error(`trace: target id ${targetId} outside the vocabulary (${this.network.spec.vocabSize})`);
    this.release();
    this.setup = setup;
    this.prefixLength = this.sharePrefix ? subject.start : 0;
    if (this.prefixLength > 0) {
      const engine = this.network.engine;
      const cache = new KVCache(this.layers);
      const prefixIds = Int32Array.from(ids.slice(0, this.prefixLength));
      engine.noGrad(() => engine.tidy(() => void this.network.forward({ ids: engine.tensor(prefixIds, [1, this.prefixLength], 'i32'), cache })));
      this.prefix = cache;
    }
    const hooks = new Hooks();
    for (const kind of new Set(setup.kinds)) hooks.on(KIND_HOOK_POINTS[kind], '*', captureInto(this.cleanStates));
    return this.targetProbs(1, hooks)[0]!;
  }

  async corrupted(rows: readonly CorruptedRow[]): Promise<Float32Array> {
    const setup = this.setup;
    if (!setup) throw new Error('trace: corrupted() before clean()');
    if (rows.length === 0) return new Float32Array(0);
    const engine = this.network.engine;
    const { ids, subject, noise, samples } = setup;
    const offset = this.prefixLength;
    // the pass runs tokens offset..T-1; positions below are in `prefix`, clean in every run
    const [batch, tokens, hidden] = [rows.length, ids.length - offset, this.hidden];
    const subjectSize = (subject.end - subject.start) * hidden;
    // [B, T', D]: each row's noise sample on the subject's positions, zero elsewhere
    const noiseValues = new Float32Array(batch * tokens * hidden);
    rows.forEach((row, b) => {
      if (!Number.isInteger(row.sample) || row.sample < 0 || row.sample >= samples) throw new Error(`trace: noise sample ${row.sample} outside 0..${samples - 1}`);
      noiseValues.set(noise.subarray(row.sample * subjectSize, (row.sample + 1) * subjectSize), (b * tokens + subject.start - offset) * hidden);
    });
    // per "point.layer": a 0/1 mask [B, T', 1] of the (row, token) pairs to restore there
    const masks = new Map<string, Float32Array>();
    rows.forEach((row, b) => {
      for (const { kind, layers, tokens: positions } of row.restore) {
        if (!setup.kinds.includes(kind)) throw new Error(`trace: '${kind}' states were not kept by clean(); kinds: ${setup.kinds.join(', ')}`);
        for (const layer of layers) {
          if (!Number.isInteger(layer) || layer < 0 || layer >= this.layers) throw new Error(`trace: layer ${layer} outside 0..${this.layers - 1}`);
          const key = `${KIND_HOOK_POINTS[kind]}.${layer}`;
          let mask = masks.get(key);
          if (!mask) masks.set(key, (mask = new Float32Array(batch * tokens)));
          for (const t of positions) {
            if (!Number.isInteger(t) || t < 0 || t >= ids.length) throw new Error(`trace: token ${t} outside the prompt's ${ids.length} tokens`);
            if (t >= offset) mask[b * tokens + t - offset] = 1;
          }
        }
      }
    });
    return engine.noGrad(() =>
      engine.tidy(() => {
        const noiseTensor = engine.tensor(noiseValues, [batch, tokens, hidden]);
        const hooks = new Hooks().on('embed', 0, (x) => add(x, noiseTensor));
        for (const [key, mask] of masks) {
          const [point, layer] = key.split('.') as [HookPoint, string];
          const clean = this.cleanStates.get(key)!;
          const maskTensor = engine.tensor(mask, [batch, tokens, 1]);
          hooks.on(point, Number(layer), (x) => where(maskTensor, clean, x));
        }
        return this.targetProbs(batch, hooks);
      }),
    );
  }

  dispose(): void {
    this.release();
    this.setup = null;
  }

  /** p(target) at the last position of `batch` copies of the prompt (after the shared prefix),
   * run with `hooks`. */
  private targetProbs(batch: number, hooks: Hooks): Float32Array {
    const engine = this.network.engine;
    const { ids, targetId } = this.setup!;
    const offset = this.prefixLength;
    const tokens = ids.length - offset;
    const idValues = new Int32Array(batch * tokens);
    for (let b = 0; b < batch; b++) idValues.set(ids.slice(offset), b * tokens);
    const cache = this.prefix ? this.prefixFor(batch) : undefined;
    try {
      return engine.noGrad(() =>
        engine.tidy(() => {
          const { logits } = this.network.forward({ ids: engine.tensor(idValues, [batch, tokens], 'i32'), hooks, cache });
          const last = logSoftmax(narrow(logits, 1, tokens - 1, 1)); // [B, 1, V]
          const logProbs = narrow(last, 2, targetId, 1).valuesSync(); // [B, 1, 1]
          return Float32Array.from(logProbs, Math.exp);
        }),
      );
    } finally {
      cache?.dispose();
    }
  }

  /** A KV cache holding the clean prefix for each of `batch` sequences (the cache's to free). */
  private prefixFor(batch: number): KVCache {
    const engine = this.network.engine;
    const prefix = this.prefix!;
    const cache = new KVCache(this.layers);
    const copy = (t: Tensor | null) => {
      if (!t) throw new Error('trace: the prefix cache is incomplete');
      const shape = [batch, ...t.shape.slice(1)]; // [B, kvHeads, P, headDim]
      return engine.keep(batch === 1 ? engine.view(t, shape) : engine.noGrad(() => broadcastTo(t, shape)));
    };
    for (let l = 0; l < this.layers; l++) {
      cache.keys[l] = copy(prefix.keys[l]!);
      cache.values[l] = copy(prefix.values[l]!);
    }
    cache.mask = Array.from({ length: batch }, () => new Array<number>(this.prefixLength).fill(1));
    return cache;
  }

  private release(): void {
    for (const t of this.cleanStates.values()) t.dispose();
    this.cleanStates.clear();
    this.prefix?.dispose();
    this.prefix = null;
    this.prefixLength = 0;
  }
}
