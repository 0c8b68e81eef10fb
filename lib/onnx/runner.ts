import type { CorruptedRow, RunnerSetup, TraceRunner } from '../tracing/runner';
import { TRACE_KINDS, type TraceKind } from '../tracing/schema';
import { cleanInput, ONNX_IO, restoreInput, stateOutput } from './interface';

/**
 * The parts of onnxruntime's Tensor and InferenceSession a trace uses. onnxruntime-node and
 * onnxruntime-web each ship their own classes with these members, so the runner takes them by shape
 * (and a tensor constructor), and the same code runs in vitest (node) and in the browser worker.
 */
export interface OrtTensorLike {
  readonly data: unknown;
  readonly dims: readonly number[];
  readonly type: string;
  dispose?(): void;
}

export type OrtFeed = { type: 'float32'; data: Float32Array; dims: number[] } | { type: 'int32'; data: Int32Array; dims: number[] } | { type: 'bool'; data: Uint8Array; dims: number[] };

export interface OrtSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensorLike>, fetches: readonly string[]): Promise<Record<string, OrtTensorLike>>;
  release?(): Promise<void>;
}

/** new ort.Tensor(type, data, dims) of whichever onnxruntime package is in use. */
export type MakeOrtTensor = (feed: OrtFeed) => OrtTensorLike;

export interface OnnxTraceRunnerOptions {
  layers: number;
  hidden: number;
}

/**
 * A TraceRunner over a model exported by server/onnx (inputs and outputs: lib/onnx/interface.ts).
 * The clean run fetches every layer's states; each corrupted batch feeds them back with a mask of
 * the (row, layer, token) cells to restore, and the noise sample of each row on the subject's
 * embeddings, so it computes what EngineTraceRunner computes with hooks. There is no KV cache: the
 * whole prompt runs every pass (the engine runner shares the prefix instead; the values agree to
 * float rounding).
 */
export class OnnxTraceRunner implements TraceRunner {
  readonly layers: number;
  readonly hidden: number;
  private setup: RunnerSetup | null = null;
  /** Clean states [L, 1, T, D] per kind (zeros for kinds not restored: the graph takes all). */
  private cleanStates = new Map<TraceKind, Float32Array>();

  constructor(
    private readonly session: OrtSessionLike,
    private readonly tensor: MakeOrtTensor,
    opts: OnnxTraceRunnerOptions,
  ) {
    this.layers = opts.layers;
    this.hidden = opts.hidden;
    const expected = [ONNX_IO.ids, ONNX_IO.noise, ONNX_IO.targets, ...TRACE_KINDS.flatMap((k) => [restoreInput(k), cleanInput(k)])];
    const missing = expected.filter((name) => !session.inputNames.includes(name));
    if (missing.length) throw new Error(`onnx trace: the model lacks the inputs ${missing.join(', ')}; export it with server/onnx`);
  }

  async clean(setup: RunnerSetup): Promise<number> {
    const { ids, subject, noise, samples, targetId } = setup;
    const subjectTokens = subject.end - subject.start;
    if (subject.start < 0 || subject.end > ids.length || subjectTokens <= 0) throw new Error(`onnx trace: subject tokens [${subject.start}, ${subject.end}) outside the prompt's ${ids.length} tokens`);
    if (noise.length !== samples * subjectTokens * this.hidden) {
      throw new Error(`onnx trace: noise has ${noise.length} values, expected samples x subject tokens x hidden = ${samples} x ${subjectTokens} x ${this.hidden}`);
    }
    if (!Number.isInteger(targetId) || targetId < 0) throw new Error(`onnx trace: target id ${targetId} is not a token id`);
    this.setup = setup;
    const tokens = ids.length;
    this.cleanStates = new Map(TRACE_KINDS.map((k) => [k, new Float32Array(this.layers * tokens * this.hidden)]));
    const wanted = [...new Set(setup.kinds)];
    const out = await this.run(new Float32Array(tokens * this.hidden), new Map(), 1, [ONNX_IO.targetProbs, ...wanted.map(stateOutput)]);
    // [L, 1, T, D]: batch 1, so the fetched state is already the clean input's layout
    for (const kind of wanted) this.cleanStates.set(kind, out.get(stateOutput(kind))!);
    return out.get(ONNX_IO.targetProbs)![0]!;
  }

  async corrupted(rows: readonly CorruptedRow[]): Promise<Float32Array> {
    const setup = this.setup;
    if (!setup) throw new Error('onnx trace: corrupted() before clean()');
    if (rows.length === 0) return new Float32Array(0);
    const { ids, subject, noise, samples } = setup;
    const [batch, tokens, hidden, layers] = [rows.length, ids.length, this.hidden, this.layers];
    const subjectSize = (subject.end - subject.start) * hidden;
    // [B, T, D]: each row's noise sample on the subject's positions, zero elsewhere
    const noiseValues = new Float32Array(batch * tokens * hidden);
    // per kind: [L, B, T, 1] 1 where (row, token) is restored at the layer
    const masks = new Map<TraceKind, Uint8Array>();
    rows.forEach((row, b) => {
      if (!Number.isInteger(row.sample) || row.sample < 0 || row.sample >= samples) throw new Error(`onnx trace: noise sample ${row.sample} outside 0..${samples - 1}`);
      noiseValues.set(noise.subarray(row.sample * subjectSize, (row.sample + 1) * subjectSize), (b * tokens + subject.start) * hidden);
      for (const { kind, layers: restoreLayers, tokens: positions } of row.restore) {
        if (!setup.kinds.includes(kind)) throw new Error(`onnx trace: '${kind}' states were not kept by clean(); kinds: ${setup.kinds.join(', ')}`);
        let mask = masks.get(kind);
        if (!mask) masks.set(kind, (mask = new Uint8Array(layers * batch * tokens)));
        for (const layer of restoreLayers) {
          if (!Number.isInteger(layer) || layer < 0 || layer >= layers) throw new Error(`onnx trace: layer ${layer} outside 0..${layers - 1}`);
          for (const t of positions) {
            if (!Number.isInteger(t) || t < 0 || t >= tokens) throw new Error(`onnx trace: token ${t} outside the prompt's ${tokens} tokens`);
            mask[(layer * batch + b) * tokens + t] = 1;
          }
        }
      }
    });
    const out = await this.run(noiseValues, masks, batch, [ONNX_IO.targetProbs]);
    return out.get(ONNX_IO.targetProbs)!;
  }

  dispose(): void {
    this.setup = null;
    this.cleanStates.clear();
  }

  /** One session run of `batch` copies of the prompt; returns the fetched outputs' values. */
  private async run(noise: Float32Array, masks: Map<TraceKind, Uint8Array>, batch: number, fetches: string[]): Promise<Map<string, Float32Array>> {
    const { ids, targetId } = this.setup!;
    const [tokens, hidden, layers] = [ids.length, this.hidden, this.layers];
    const idValues = new Int32Array(batch * tokens);
    for (let b = 0; b < batch; b++) idValues.set(ids, b * tokens);
    const feeds: Record<string, OrtTensorLike> = {
      [ONNX_IO.ids]: this.tensor({ type: 'int32', data: idValues, dims: [batch, tokens] }),
      [ONNX_IO.noise]: this.tensor({ type: 'float32', data: noise, dims: [batch, tokens, hidden] }),
      [ONNX_IO.targets]: this.tensor({ type: 'int32', data: Int32Array.of(targetId), dims: [1] }),
    };
    for (const kind of TRACE_KINDS) {
      feeds[restoreInput(kind)] = this.tensor({ type: 'bool', data: masks.get(kind) ?? new Uint8Array(layers * batch * tokens), dims: [layers, batch, tokens, 1] });
      feeds[cleanInput(kind)] = this.tensor({ type: 'float32', data: this.cleanStates.get(kind)!, dims: [layers, 1, tokens, hidden] });
    }
    const results = await this.session.run(feeds, fetches);
    const values = new Map<string, Float32Array>();
    try {
      for (const name of fetches) {
        const t = results[name];
        if (!t || !(t.data instanceof Float32Array)) throw new Error(`onnx trace: the session returned no float output ${name}`);
        values.set(name, Float32Array.from(t.data));
      }
    } finally {
      // onnxruntime-web's tensors may hold GPU buffers: free what this run made
      for (const t of [...Object.values(feeds), ...Object.values(results)]) t.dispose?.();
    }
    // target_probs is [B, K] with K = 1
    if (values.get(ONNX_IO.targetProbs)!.length !== batch) throw new Error(`onnx trace: ${values.get(ONNX_IO.targetProbs)!.length} target probabilities for ${batch} rows`);
    return values;
  }
}
