import type { TraceEvent, TraceRequestInput } from '../lib/tracing/schema';

/**
 * Messages between the studio and workers/trace.worker.ts. The page sends one 'trace' at a time
 * and terminates the worker to cancel; the worker answers with phases, the trace's events in order
 * (the same TraceEvent the server's trace job streams) and, on failure, one 'error'.
 */
export interface TraceWorkerRequest {
  type: 'trace';
  model: string;
  request: TraceRequestInput;
}

/** Where onnxruntime-web runs the model. */
export type BrowserBackend = 'webgpu' | 'wasm';

export type TraceWorkerPhase =
  | { phase: 'preparing' }
  | { phase: 'downloading'; loaded: number; total: number | null }
  | { phase: 'loading' }
  | { phase: 'tracing'; backend: BrowserBackend; threads: number; cached: boolean };

export type TraceWorkerMessage = ({ type: 'phase' } & TraceWorkerPhase) | { type: 'event'; event: TraceEvent } | { type: 'error'; message: string };
