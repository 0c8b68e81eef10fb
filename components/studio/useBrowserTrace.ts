'use client';

import { useCallback, useEffect, useRef, useState } from 'react';
import type { TraceEvent, TraceRequestInput, TraceResult } from '@/lib/tracing/schema';
import type { TraceWorkerMessage, TraceWorkerPhase, TraceWorkerRequest } from '@/workers/trace-protocol';

export interface BrowserTraceView {
  running: boolean;
  /** What the worker is doing (null before the first trace). */
  phase: TraceWorkerPhase | null;
  events: TraceEvent[];
  result: TraceResult | null;
  error: string | null;
  cancelled: boolean;
}

const idle: BrowserTraceView = { running: false, phase: null, events: [], result: null, error: null, cancelled: false };

/**
 * A causal trace run in this browser by workers/trace.worker.ts. The worker lives across traces
 * (it keeps the last model version's session, so a second trace skips the download) and is
 * terminated to cancel.
 */
export function useBrowserTrace() {
  const [view, setView] = useState<BrowserTraceView>(idle);
  const workerRef = useRef<Worker | null>(null);

  useEffect(() => () => workerRef.current?.terminate(), []);

  const start = useCallback((model: string, request: TraceRequestInput) => {
    workerRef.current ??= spawnTraceWorker(setView);
    setView({ ...idle, running: true, phase: { phase: 'preparing' } });
    workerRef.current.postMessage({ type: 'trace', model, request } satisfies TraceWorkerRequest);
  }, []);

  const cancel = useCallback(() => {
    workerRef.current?.terminate();
    workerRef.current = null;
    setView((v) => ({ ...v, running: false, cancelled: true }));
  }, []);

  return { ...view, start, cancel };
}

/** A trace worker whose messages update `setView` (one trace at a time: the page waits for the
 * last to end before starting another, or terminates the worker). */
function spawnTraceWorker(setView: (update: (v: BrowserTraceView) => BrowserTraceView) => void): Worker {
  const worker = new Worker(new URL('../../workers/trace.worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (e: MessageEvent<TraceWorkerMessage>) => {
    const message = e.data;
    if (message.type === 'phase') {
      const { type, ...phase } = message;
      void type;
      setView((v) => ({ ...v, phase }));
    } else if (message.type === 'error') setView((v) => ({ ...v, running: false, error: message.message }));
    else {
      const event = message.event;
      if (event.type === 'done') setView((v) => ({ ...v, result: event.result, running: false }));
      else setView((v) => ({ ...v, events: [...v.events, event] }));
    }
  };
  worker.onerror = (e) => setView((v) => ({ ...v, running: false, error: `The trace worker failed: ${e.message || 'it could not start'}` }));
  return worker;
}

/** The status line of a browser trace. */
export function browserTraceStatus(trace: BrowserTraceView, view: { done: number; total: number }): string {
  const { phase, result } = trace;
  if (trace.error) return 'The trace in this browser failed.';
  if (trace.cancelled) return `Cancelled after ${view.done} of ${view.total} rows.`;
  if (result) return `Done in this browser: ${view.total} rows in ${result.seconds.toFixed(1)} s.`;
  if (!trace.running || !phase) return '';
  switch (phase.phase) {
    case 'preparing':
      return 'Tokenising the prompt on the server…';
    case 'downloading':
      return `Downloading the model: ${(phase.loaded / 1e6).toFixed(1)}${phase.total ? ` of ${(phase.total / 1e6).toFixed(1)}` : ''} MB…`;
    case 'loading':
      return 'Loading the model into onnxruntime-web…';
    case 'tracing': {
      const where = phase.backend === 'webgpu' ? 'WebGPU' : `WebAssembly, ${phase.threads} thread${phase.threads === 1 ? '' : 's'}`;
      return view.total ? `Row ${view.done} of ${view.total} (in this browser, ${where})` : `Running the clean and corrupted passes in this browser (${where})…`;
    }
  }
}
