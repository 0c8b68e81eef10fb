/// <reference lib="webworker" />
/**
 * Causal traces in the browser: a web worker that downloads the loaded model version as ONNX
 * (GET /api/models/{id}/onnx), runs it with onnxruntime-web (WebGPU when the browser has an
 * adapter, WASM otherwise) and runs lib/tracing's algorithm over it, posting each event as the
 * server's trace job would stream it. The server tokenises the request and resolves the noise
 * level (POST /api/models/{id}/trace-input); the noise itself is drawn here from the seed, the
 * same values the server draws.
 */
import * as ort from 'onnxruntime-web';
import { ApiError } from '../lib/api/errors';
import { BrowserTraceInput, ONNX_VERSION_HEADER } from '../lib/api/onnx';
import { OnnxTraceRunner, type MakeOrtTensor, type OrtSessionLike } from '../lib/onnx/runner';
import { traceTokens } from '../lib/tracing/trace';
import type { BrowserBackend, TraceWorkerMessage, TraceWorkerPhase, TraceWorkerRequest } from './trace-protocol';

declare const self: DedicatedWorkerGlobalScope;

// The .wasm binary is served from node_modules/onnxruntime-web/dist by app/ort/[file]/route.ts.
// Only the .wasm: with a prefix, onnxruntime-web would also import its .mjs glue from there instead
// of the copy bundled into this worker. The default build runs both WebGPU (JSEP) and the CPU.
ort.env.wasm.wasmPaths = { wasm: new URL('/ort/ort-wasm-simd-threaded.jsep.wasm', self.location.origin).href };
// Threads need SharedArrayBuffer, i.e. a cross-origin isolated page (COOP/COEP headers), which the
// studio does not set; onnxruntime-web would fall back to one thread anyway. We are already off
// the main thread, so no proxy worker either.
ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;

/** The session of the last model version traced, reused while the version stays the same. */
let loaded: { key: string; session: ort.InferenceSession; backend: BrowserBackend } | null = null;

const post = (message: TraceWorkerMessage) => self.postMessage(message);
const phase = (p: TraceWorkerPhase) => post({ type: 'phase', ...p });
const makeTensor: MakeOrtTensor = ({ type, data, dims }) => new ort.Tensor(type, data, dims);

self.onmessage = (e: MessageEvent<TraceWorkerRequest>) => {
  if (e.data?.type !== 'trace') return post({ type: 'error', message: `trace worker: unknown message ${JSON.stringify(e.data)}` });
  trace(e.data).catch((error: unknown) => post({ type: 'error', message: error instanceof Error ? error.message : String(error) }));
};

async function trace({ model, request }: TraceWorkerRequest): Promise<void> {
  phase({ phase: 'preparing' });
  const base = `/api/models/${encodeURIComponent(model)}`;
  const res = await fetch(`${base}/trace-input`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
  if (!res.ok) throw new Error(await apiError(res));
  const prepared = BrowserTraceInput.parse(await res.json());
  const key = `${model}@${prepared.version}`;
  const cached = loaded?.key === key;
  let bytes: Uint8Array | null = null;
  if (!cached) {
    await loaded?.session.release();
    loaded = null;
    bytes = await download(`${base}/onnx`, prepared.version);
    phase({ phase: 'loading' });
    loaded = { key, ...(await createSession(bytes)) };
  }
  const progress = { posted: 0 };
  try {
    await run(loaded!, prepared, cached, progress);
  } catch (error) {
    // WebGPU is untested here (no machine with a WebGPU browser): if it fails before the first
    // event, trace on the CPU rather than fail.
    if (loaded?.backend !== 'webgpu' || progress.posted > 0) throw error;
    await loaded.session.release();
    loaded = null;
    bytes ??= await download(`${base}/onnx`, prepared.version);
    phase({ phase: 'loading' });
    loaded = { key, ...(await createSession(bytes, { gpu: false })) };
    await run(loaded, prepared, false, progress);
  }
}

/** Runs the trace on a session, posting each event; counts them in `progress`. */
async function run({ session, backend }: { session: ort.InferenceSession; backend: BrowserBackend }, prepared: BrowserTraceInput, cached: boolean, progress: { posted: number }): Promise<void> {
  phase({ phase: 'tracing', backend, threads: backend === 'wasm' ? (ort.env.wasm.numThreads ?? 1) : 0, cached });
  const runner = new OnnxTraceRunner(session as unknown as OrtSessionLike, makeTensor, { layers: prepared.layers, hidden: prepared.hidden });
  try {
    for await (const event of traceTokens(runner, prepared.input, prepared.settings)) {
      post({ type: 'event', event });
      progress.posted++;
    }
  } finally {
    runner.dispose();
  }
}

/** The ONNX file, with download progress; refuses a version other than the one prepared for. */
async function download(url: string, version: string): Promise<Uint8Array> {
  const res = await fetch(url, { cache: 'no-store' });
  if (!res.ok) throw new Error(await apiError(res));
  const served = res.headers.get(ONNX_VERSION_HEADER);
  if (served !== version) throw new Error('The model changed (an edit was applied or reverted) while the trace was starting; trace again.');
  const total = Number(res.headers.get('content-length')) || null;
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    phase({ phase: 'downloading', loaded: size, total });
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** WebGPU when an adapter exists and the session builds there, else WASM (the CPU). */
async function createSession(bytes: Uint8Array, opts: { gpu: boolean } = { gpu: true }): Promise<{ session: ort.InferenceSession; backend: BrowserBackend }> {
  const gpu = (self.navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (opts.gpu && gpu && (await gpu.requestAdapter().catch(() => null))) {
    try {
      return { session: await ort.InferenceSession.create(bytes, { executionProviders: ['webgpu'] }), backend: 'webgpu' };
    } catch {
      // an adapter without the features onnxruntime needs: the CPU path below still works
    }
  }
  return { session: await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' }), backend: 'wasm' };
}

async function apiError(res: Response): Promise<string> {
  const parsed = ApiError.safeParse(await res.json().catch(() => undefined));
  return parsed.success ? parsed.data.error : `${res.url}: ${res.status} ${res.statusText}`;
}
