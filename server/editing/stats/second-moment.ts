import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { matmul, mul, reshape } from '../../engine/ops';
import { openSafetensors, writeSafetensors } from '../../models/formats/safetensors';
import { captureInto, Hooks } from '../../models/hooks';
import { decoderOnly, type EditableLM } from '../../models/editable';
import { cholesky } from '../linalg';
import type { EditProgress } from '../editor';

export interface StatsSource {
  /** Names the text for the cache key and reports ("world corpus, seed 1"). */
  name: string;
  /** Text samples; each is tokenised and truncated to the model's context. */
  texts(): Iterable<string>;
}

export interface SecondMomentOptions {
  /** Tokens to accumulate (ROME used 100,000 Wikipedia samples; small models need far fewer). */
  maxTokens: number;
  /** Tokens per sample at most. */
  maxLength: number;
  batchSize: number;
  /** Folder for cached statistics; none: memory only. */
  cacheDir?: string;
}

/**
 * C = E[k kᵀ] of the MLP keys (inputs of the down/out projection) of one layer over the tokens of
 * a text sample, in float64, computed once per (model, layer, text, size) and cached on disk as
 * safetensors. Its Cholesky factor is kept beside it for ROME's C⁻¹k and MEMIT's solves.
 */
export class SecondMoments {
  private readonly memory = new Map<number, { moment: Float64Array; factor: Float64Array | null; tokens: number }>();
  private readonly derivedCache = new Map<string, Promise<unknown>>();

  constructor(
    private readonly lm: EditableLM,
    private readonly modelId: string,
    /** The text the statistics are taken over (also what T-Patcher reads its memory of unrelated inputs from). */
    readonly source: StatsSource,
    private readonly opts: SecondMomentOptions,
    /** Where 'stats' progress goes; a job system points it at the job running now. */
    public onProgress?: (e: EditProgress) => void,
  ) {}

  get description(): string {
    return `${this.source.name}, ${this.opts.maxTokens} tokens`;
  }

  private cacheFile(layer: number): string | null {
    if (!this.opts.cacheDir) return null;
    const key = createHash('sha256')
      .update(JSON.stringify([this.modelId, this.source.name, this.opts.maxTokens, this.opts.maxLength, layer]))
      .digest('hex')
      .slice(0, 16);
    return path.join(this.opts.cacheDir, `mom2-${this.modelId.replace(/[^\w.-]/g, '_')}-L${layer}-${key}.safetensors`);
  }

  /** Where C for a layer would come from now: memory, the disk cache, or nowhere yet. */
  status(layer: number): 'memory' | 'disk' | 'missing' {
    if (this.memory.has(layer)) return 'memory';
    const file = this.cacheFile(layer);
    return file && existsSync(file) ? 'disk' : 'missing';
  }

  /**
   * Something else computed once per model from its statistics text (T-Patcher's memory of FFN
   * inputs), kept here beside the moments, in memory only. Like the moments, it is taken on the
   * weights of the moment it is first asked for.
   */
  derived<T>(key: string, compute: () => Promise<T>): Promise<T> {
    let entry = this.derivedCache.get(key) as Promise<T> | undefined;
    if (!entry) {
      entry = compute();
      this.derivedCache.set(key, entry);
      entry.catch(() => this.derivedCache.delete(key));
    }
    return entry;
  }

  /** C for a layer (F × F, row-major). */
  async moment(layer: number): Promise<Float64Array> {
    return (await this.entry(layer)).moment;
  }

  /** Lower Cholesky factor of C (with a tiny ridge when C is singular). */
  async factor(layer: number): Promise<Float64Array> {
    const entry = await this.entry(layer);
    if (!entry.factor) {
      const n = this.lm.editSpec.mlpHidden;
      entry.factor = choleskyWithRidge(entry.moment, n);
    }
    return entry.factor;
  }

  private async entry(layer: number) {
    let entry = this.memory.get(layer);
    if (entry) return entry;
    const file = this.cacheFile(layer);
    if (file && existsSync(file)) {
      const stored = await openSafetensors(file);
      const { data } = await stored.read('moment');
      entry = { moment: Float64Array.from(data as Float32Array), factor: null, tokens: Number(stored.metadata?.tokens ?? 0) };
    } else {
      entry = { ...(await this.compute(layer)), factor: null };
      if (file) {
        await mkdir(path.dirname(file), { recursive: true });
        const n = this.lm.editSpec.mlpHidden;
        // Written aside, then renamed: several processes (backends) may compute the same layer, and
        // none may read a half-written file.
        const partial = `${file}.${process.pid}.partial`;
        await writeSafetensors(partial, { moment: { dtype: 'f32', shape: [n, n], data: Float32Array.from(entry.moment) } }, {
          model: this.modelId,
          text: this.source.name,
          tokens: String(entry.tokens),
          layer: String(layer),
        });
        await rename(partial, file);
      }
    }
    this.memory.set(layer, entry);
    return entry;
  }

  private async compute(layer: number): Promise<{ moment: Float64Array; tokens: number }> {
    const lm = decoderOnly(this.lm, 'second-moment statistics', 'they are the MLP key covariance ROME and MEMIT read, and those methods edit decoder-only models only');
    const engine = lm.engine;
    const n = lm.network.spec.mlpHidden;
    const sum = new Float64Array(n * n);
    let tokens = 0;
    let batch: number[][] = [];
    const flush = () => {
      if (!batch.length) return;
      const seqs = batch;
      batch = [];
      const partial = engine.noGrad(() =>
        engine.tidy(() => {
          const captured = new Map();
          const { mask } = lm.runToLayer(seqs, layer, new Hooks().on('mlp_key', layer, captureInto(captured)));
          const keys = captured.get(`mlp_key.${layer}`)!;
          // zero the padding rows, then Kᵀ K over all real tokens at once: [F, F]
          const real = engine.tensor(Float32Array.from(mask.flat()), [mask.length, mask[0]!.length, 1]);
          const flat = reshape(mul(keys, real), [-1, n]);
          keys.dispose();
          return matmul(flat, flat, { transA: true }).valuesSync();
        }),
      );
      for (let i = 0; i < sum.length; i++) sum[i]! += partial[i]!;
      this.onProgress?.({ type: 'stats', layer, tokens, total: this.opts.maxTokens });
    };
    for (const text of this.source.texts()) {
      if (tokens >= this.opts.maxTokens) break;
      const ids = lm.encode(text).slice(0, this.opts.maxLength);
      if (!ids.length) continue;
      batch.push(ids);
      tokens += ids.length;
      if (batch.length >= this.opts.batchSize) {
        flush();
        await new Promise((r) => setImmediate(r));
      }
    }
    flush();
    if (tokens === 0) throw new Error(`second moment: the text "${this.source.name}" produced no tokens`);
    for (let i = 0; i < sum.length; i++) sum[i]! /= tokens;
    return { moment: sum, tokens };
  }
}

/** Cholesky of C, adding a ridge of 1e-6 · mean(diag) if C is numerically singular. */
export function choleskyWithRidge(moment: Float64Array, n: number): Float64Array {
  try {
    return cholesky(moment, n);
  } catch {
    let trace = 0;
    for (let i = 0; i < n; i++) trace += moment[i * n + i]!;
    const ridged = Float64Array.from(moment);
    for (let i = 0; i < n; i++) ridged[i * n + i]! += (1e-6 * trace) / n;
    return cholesky(ridged, n);
  }
}
