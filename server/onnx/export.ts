import type { OnnxModelMeta } from '../../lib/onnx/interface';
import { Gpt2Config } from '../models/families/gpt2';
import type { CausalLM, ModelSpec } from '../models/network';
import { gpt2Graph, type Gpt2GraphOptions } from './gpt2';

/** A model that cannot be exported: a family without an exporter (400), or too large (413). */
export class OnnxExportError extends Error {
  override name = 'OnnxExportError';
  constructor(
    readonly status: 400 | 413,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Largest export served by default: 256 MiB of f32 weights (about 64M parameters). A browser
 * tab holds the file, onnxruntime's copy of it and the activations in a 4 GiB wasm32 heap, and
 * downloads it first; the world model is 24 MB. LOCUS_ONNX_MAX_MB overrides it.
 */
export const DEFAULT_ONNX_MAX_BYTES = 256 * 2 ** 20;

export function onnxMaxBytes(env: Record<string, string | undefined> = process.env): number {
  const raw = env.LOCUS_ONNX_MAX_MB;
  if (raw === undefined || raw === '') return DEFAULT_ONNX_MAX_BYTES;
  const mb = Number(raw);
  if (!Number.isFinite(mb) || mb <= 0) throw new Error(`LOCUS_ONNX_MAX_MB must be a positive number of MiB, got ${JSON.stringify(raw)}`);
  return Math.floor(mb * 2 ** 20);
}

/** The families with an exporter. A typed record, so a new family fails to compile until it says. */
const EXPORTERS: Record<ModelSpec['family'], ((network: CausalLM, config: unknown, opts: Gpt2GraphOptions) => ReturnType<typeof gpt2Graph>) | null> = {
  gpt2: (network, config, opts) => gpt2Graph(network, Gpt2Config.parse(config), opts),
  gptj: null,
  llama: null,
  neox: null,
};

export interface OnnxExport {
  bytes: Uint8Array;
  meta: OnnxModelMeta;
}

export interface OnnxExportOptions extends Gpt2GraphOptions {
  /** Refuse exports whose weights exceed this many bytes (f32). Default: no limit. */
  maxBytes?: number;
  /** Written into the model's metadata (model id, version). */
  metadata?: Record<string, string>;
}

/** Bytes of the weights an export would hold (f32, whatever the engine stores them as). */
export function onnxWeightBytes(network: CausalLM): number {
  let n = 0;
  for (const t of network.params.values()) n += t.size * 4;
  return n;
}

/**
 * The network's current weights (the loaded version: base plus applied edits) as an ONNX model
 * with the trace interventions of lib/onnx/interface.ts. `config` is the checkpoint's config.json,
 * for what the spec does not carry (LayerNorm epsilon, GELU form). Reads every weight
 * synchronously, so no edit can land half-way through.
 */
export function exportOnnx(network: CausalLM, config: unknown, opts: OnnxExportOptions = {}): OnnxExport {
  const { spec } = network;
  const exporter = EXPORTERS[spec.family];
  if (!exporter) throw new OnnxExportError(400, `ONNX export supports the gpt2 family; this model is ${spec.family}`);
  // the graph is built from checkpoint weights: slots added by T-Patcher or CaliNET would be missing
  if (network.slots.size) {
    throw new OnnxExportError(400, `this version has ${network.slots.size} key/value slot(s) added beside MLPs (T-Patcher, CaliNET edits), which the ONNX export does not carry; trace it on the server, or revert those edits`);
  }
  const weightBytes = onnxWeightBytes(network);
  if (opts.maxBytes !== undefined && weightBytes > opts.maxBytes) {
    throw new OnnxExportError(413, tooLargeMessage(weightBytes, opts.maxBytes));
  }
  const { graph, inputs, outputs } = exporter(network, config, opts);
  const meta: OnnxModelMeta = { family: spec.family, layers: spec.layers, hidden: spec.hidden, vocabSize: spec.vocabSize, maxPositions: spec.maxPositions };
  const metadata = { ...Object.fromEntries(Object.entries(meta).map(([k, v]) => [`locus.${k}`, String(v)])), ...opts.metadata };
  const bytes = graph.encode({ name: `locus-${spec.family}`, inputs, outputs, metadata, docString: 'Exported by Locus with causal-trace interventions (lib/onnx/interface.ts).' });
  return { bytes, meta };
}

/** Why a model is refused: both sizes, the limit's setting, and what to do instead. */
export function tooLargeMessage(bytes: number, limit: number): string {
  return `The model's ONNX export would be ${mib(bytes)} MiB of weights, over the ${mib(limit)} MiB limit for tracing in the browser (LOCUS_ONNX_MAX_MB); trace it on the server`;
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}
