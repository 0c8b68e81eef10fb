/**
 * What the studio's routes serve for tracing in the browser: a loaded model version as ONNX, and a
 * trace request tokenised with its noise level resolved. Both name the version (the applied edits)
 * so the worker can tell when an edit landed between the two requests.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { BrowserTraceInput } from '../../lib/api/onnx';
import { traceRequestSchema, type TraceRequest } from '../../lib/tracing';
import { HubError, type ModelHub } from '../backend/hub';
import { LanguageModel } from '../models/lm';
import { embeddingNoiseLevel, traceInput, TraceRequestError } from '../tracing';
import { exportOnnx, onnxMaxBytes, onnxWeightBytes, OnnxExportError, tooLargeMessage, type OnnxExport } from './export';

/** "base", or the applied edits in order (id and time: ids restart with the server), e.g.
 * "edits-1.mbx2k9q0-3.mbx2kd1a": names what the weights are now. */
export function versionOf(hub: ModelHub, id: string): string {
  const edits = hub.versions(id).edits;
  return edits.length ? `edits-${edits.map((e) => `${e.id}.${Date.parse(e.createdAt).toString(36)}`).join('-')}` : 'base';
}

/** Model `id` as it is now (base + applied edits), as ONNX; 413 over LOCUS_ONNX_MAX_MB. */
export async function modelOnnx(hub: ModelHub, id: string): Promise<OnnxExport & { version: string }> {
  const lm = await decoderOnlyModel(hub, id, 'ONNX export');
  const location = hub.location(id);
  if (location.endsWith('.gguf')) throw new HubError(400, `ONNX export supports the gpt2 family; ${id} is ${lm.network.spec.family}`);
  const config = JSON.parse(await readFile(path.join(location, 'config.json'), 'utf8')) as unknown;
  // from here on synchronous: the weights and the version are read in one turn of the event loop,
  // so an edit cannot land between them
  const version = versionOf(hub, id);
  // OnnxExportError carries its status (400 other family, 413 too large) to the route's answer
  return { ...exportOnnx(lm.network, config, { maxBytes: onnxMaxBytes(), metadata: { 'locus.model': id, 'locus.version': version } }), version };
}

/** A trace request tokenised on the server, with the noise level resolved as the server trace
 * resolves it (3 x the std of the subject's token embeddings, unless the request fixes it). */
export async function browserTraceInput(hub: ModelHub, id: string, request: TraceRequest): Promise<BrowserTraceInput> {
  const lm = await decoderOnlyModel(hub, id, 'Tracing in the browser');
  const { spec } = lm.network;
  if (spec.family !== 'gpt2') throw new HubError(400, `Tracing in the browser supports the gpt2 family; ${id} is ${spec.family}`);
  const onnxBytes = onnxWeightBytes(lm.network);
  const maxOnnxBytes = onnxMaxBytes();
  if (onnxBytes > maxOnnxBytes) throw new OnnxExportError(413, tooLargeMessage(onnxBytes, maxOnnxBytes));
  const parsed = traceRequestSchema.parse(request);
  let input;
  try {
    input = traceInput(lm, parsed);
  } catch (error) {
    if (error instanceof TraceRequestError) throw new HubError(400, error.message);
    throw error;
  }
  if (parsed.window > spec.layers) throw new HubError(400, `window ${parsed.window} is larger than the model's ${spec.layers} layers`);
  if (input.tokenIds.length > spec.maxPositions) throw new HubError(400, `The prompt is ${input.tokenIds.length} tokens long; ${id} reads at most ${spec.maxPositions}`);
  const noiseLevel = parsed.noiseLevel ?? embeddingNoiseLevel(lm, [parsed.subject], { multiplier: parsed.noiseMultiplier });
  const { kinds, samples, window, seed, positions } = parsed;
  return {
    model: id,
    version: versionOf(hub, id),
    layers: spec.layers,
    hidden: spec.hidden,
    onnxBytes,
    maxOnnxBytes,
    input: { ...input, tokens: [...input.tokens], tokenIds: [...input.tokenIds] },
    settings: { kinds, samples, noiseLevel, window, seed, positions },
  };
}

/** Model `id`, which the ONNX export (of decoder-only families) must be able to read. */
async function decoderOnlyModel(hub: ModelHub, id: string, what: string): Promise<LanguageModel> {
  const lm = await hub.load(id);
  if (!(lm instanceof LanguageModel)) throw new HubError(400, `${what} supports the gpt2 family; ${id} is ${lm.editSpec.family} (${lm.architecture}), which traces on the server only`);
  return lm;
}
