'use client';

import { useState, type FormEvent } from 'react';
import type { ModelInfo } from '@/lib/api';
import { TRACE_KINDS, type TraceRequestInput } from '@/lib/tracing/schema';
import { EDIT_METHODS, editsArchitecture, subjectProblem } from './edit-form';
import { percent, visibleToken } from './format';
import { Heatmap, HeatmapLegend, effectText } from './Heatmap';
import { KIND_PHRASE, defaultWindow, parseTraceEvent, parseTraceResult, strongestCell, traceView } from './trace-view';
import { errorBox, hintClass, inputClass, labelClass, panelClass, primaryButton, secondaryButton } from './ui';
import { browserTraceStatus, useBrowserTrace } from './useBrowserTrace';
import { useJob } from './useJob';

const SAMPLES_DEFAULT = 10;
const SAMPLES_MAX = 1000;

interface Props {
  model: string | undefined;
  modelInfo: ModelInfo | undefined;
  prompt: string;
  subject: string;
  /** The answer traced: the fact box's first compared target, with its leading space ("" when none). */
  target: string;
  onFinished?: () => void;
}

/**
 * Causal trace of the fact in the fact box (ROME's hidden / MLP / attention restorations), run as a
 * job: the heatmaps fill in a row at a time as the job's events arrive.
 */
export function TracePanel({ model, modelInfo, prompt, subject, target, onFinished }: Props) {
  const job = useJob({ progress: parseTraceEvent, result: parseTraceResult, onFinished });
  const layers = modelInfo?.layers ?? null;
  const suggestedWindow = defaultWindow(layers);
  // null: the model's default window (the studio mounts the panel afresh for each model).
  const [windowText, setWindowText] = useState<string | null>(null);
  const [samplesText, setSamplesText] = useState(String(SAMPLES_DEFAULT));
  const [problem, setProblem] = useState<string | null>(null);
  // "Trace in my browser" runs the same trace in a web worker (workers/trace.worker.ts); the view
  // shows whichever of the two ran last.
  const browser = useBrowserTrace();
  const [source, setSource] = useState<'server' | 'browser'>('server');
  const inBrowser = source === 'browser';
  const running = job.running || browser.running;
  // The ONNX export (server/onnx) knows the gpt2 family only.
  const browserOffered = modelInfo?.family === 'gpt2';
  const seq2seq = modelInfo?.architecture === 'encoder-decoder';

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    const request = traceRequest();
    if (!model || !request) return;
    setSource('server');
    void job.start({ kind: 'trace', model, request });
  }

  function onBrowserTrace() {
    const request = traceRequest();
    if (!model || !request) return;
    setSource('browser');
    browser.start(model, request);
  }

  /** The request from the fact box and the settings, or null with the problem shown. */
  function traceRequest(): (TraceRequestInput & { window: number; samples: number }) | null {
    const fail = (message: string) => (setProblem(message), null);
    if (!model) return fail('Choose a model first.');
    const bad = subjectProblem(prompt, subject);
    if (bad) return fail(bad);
    if (!target.trim()) return fail('Enter the answer to trace as the first of “Compare targets” in the fact box.');
    const window = Number(windowText ?? suggestedWindow);
    if (!Number.isInteger(window) || window < 1 || (layers !== null && window > layers))
      return fail(`The window must be a whole number from 1 to ${layers ?? 'the number of layers'}.`);
    const samples = Number(samplesText);
    if (!Number.isInteger(samples) || samples < 1 || samples > SAMPLES_MAX) return fail(`Noise samples must be a whole number from 1 to ${SAMPLES_MAX}.`);
    setProblem(null);
    return { prompt, subject, target, window, samples, kinds: [...TRACE_KINDS], positions: 'all' };
  }

  const result = inBrowser ? browser.result : job.result;
  const view = inBrowser ? traceView(browser.events, browser.result) : traceView(job.events, job.result);
  const { setup, decoder } = view;
  const suggestion = result?.suggestion ?? null;
  const strongest = suggestion ? strongestCell(view.cells[suggestion.kind]) : null;
  const targetText = setup ? visibleToken(setup.targetToken.text) : visibleToken(target);

  let status = '';
  if (inBrowser) status = browserTraceStatus(browser, view);
  else if (job.starting) status = 'Starting the trace…';
  else if (job.state === 'queued') status = 'Queued: waiting for the model (an edit may be running).';
  else if (job.state === 'running') status = setup ? `Row ${view.done} of ${view.total}` : 'Loading the model and running the clean and corrupted passes…';
  else if (job.state === 'done' && job.result) status = `Done: ${view.total} rows in ${job.result.seconds.toFixed(1)} s.`;
  else if (job.state === 'cancelled') status = `Cancelled after ${view.done} of ${view.total} rows.`;
  else if (job.state === 'failed') status = 'The trace failed.';

  return (
    <section aria-labelledby="trace-title" className={panelClass}>
      <h2 id="trace-title" className="text-lg font-medium">
        Causal trace
      </h2>
      <p className="mt-1 text-sm text-neutral-600">
        Where does the model look the fact up? The subject’s embeddings are corrupted with noise, then one layer’s state at one token is restored from the
        clean run; the heatmaps show how much of p({visibleToken(target) || 'target'}) each restoration brings back.
        {seq2seq &&
          ' This is an encoder-decoder model: the subject is corrupted in the encoder’s input, and states are restored in the encoder (at each prompt token) and in the decoder (at its start position, where the answer’s first token is predicted).'}
      </p>

      <form onSubmit={onSubmit} noValidate className="mt-3" aria-label="Trace settings">
        <div className="grid gap-3 sm:grid-cols-2">
          <div>
            <label htmlFor="trace-window" className={labelClass}>
              Window (layers restored together)
            </label>
            <input
              id="trace-window"
              type="number"
              min={1}
              max={layers ?? undefined}
              className={`${inputClass} mt-1`}
              value={windowText ?? String(suggestedWindow)}
              onChange={(e) => setWindowText(e.target.value)}
              aria-describedby="trace-window-hint"
              disabled={running}
            />
            <p id="trace-window-hint" className={hintClass}>
              MLP and attention restore this many consecutive layers around each layer. ROME used 10 of GPT-2 XL’s 48 layers; the default here is about a
              sixth of the model’s layers (1 to 10): {suggestedWindow} for {layers ? `its ${layers} layers` : 'this model'}.
            </p>
          </div>
          <div>
            <label htmlFor="trace-samples" className={labelClass}>
              Noise samples per cell
            </label>
            <input
              id="trace-samples"
              type="number"
              min={1}
              max={SAMPLES_MAX}
              className={`${inputClass} mt-1`}
              value={samplesText}
              onChange={(e) => setSamplesText(e.target.value)}
              aria-describedby="trace-samples-hint"
              disabled={running}
            />
            <p id="trace-samples-hint" className={hintClass}>
              Each cell averages this many corrupted runs (ROME: 10).
            </p>
          </div>
        </div>
        <div className="mt-3 flex flex-wrap items-center gap-3">
          <button type="submit" className={primaryButton} disabled={running || !model}>
            {job.running ? 'Tracing…' : 'Trace'}
          </button>
          {browserOffered && (
            <button type="button" className={secondaryButton} onClick={onBrowserTrace} disabled={running || !model} aria-describedby="trace-browser-hint">
              {browser.running ? 'Tracing in this browser…' : 'Trace in my browser'}
            </button>
          )}
          {browser.running && (
            <button type="button" className={secondaryButton} onClick={browser.cancel}>
              Cancel browser trace
            </button>
          )}
          {job.running && job.summary && (
            <button type="button" className={secondaryButton} onClick={() => void job.cancel()} disabled={job.cancelling}>
              {job.cancelling ? 'Cancelling…' : 'Cancel trace'}
            </button>
          )}
          <p className="text-sm text-neutral-700" role="status" aria-live="polite" data-testid="trace-status">
            {status}
          </p>
        </div>
        {browserOffered ? (
          <p id="trace-browser-hint" className={hintClass}>
            Trace in my browser downloads this model version as ONNX
            {modelInfo?.params ? ` (${((modelInfo.params * 4) / 1e6).toFixed(0)} MB)` : ''} and runs the same trace here, on WebGPU or the CPU (WebAssembly).
          </p>
        ) : (
          modelInfo?.family && (
            <p className={hintClass} data-testid="trace-browser-unavailable">
              Tracing in the browser needs the model as ONNX, which Locus exports for GPT-2 models only; {modelInfo.label} ({modelInfo.family}
              {seq2seq ? ', encoder-decoder' : ''}) traces on the server.
            </p>
          )
        )}
        {inBrowser && browser.running && browser.phase?.phase === 'downloading' && (
          <progress
            className="mt-2 h-2 w-full"
            value={browser.phase.total ? browser.phase.loaded : undefined}
            max={browser.phase.total ?? undefined}
            aria-label="Model download"
            data-testid="trace-download"
          />
        )}
        {running && view.total > 0 && (
          <progress className="mt-2 h-2 w-full" value={view.done} max={view.total} aria-label="Trace progress" data-testid="trace-progress" />
        )}
      </form>

      {(problem || (inBrowser ? browser.error : job.error)) && (
        <p role="alert" className={`${errorBox} mt-3`} data-testid="trace-error">
          {problem ?? `Trace failed: ${inBrowser ? browser.error : job.error}`}
        </p>
      )}

      {setup && (
        <div className="mt-4" data-testid="trace-view" data-done={view.done} data-total={view.total} data-source={source} data-seconds={result?.seconds}>
          <p className="text-sm text-neutral-700">
            p({targetText}) is <span className="font-medium tabular-nums">{percent(setup.pClean)}</span> on the clean prompt and{' '}
            <span className="font-medium tabular-nums">{percent(setup.pCorrupted)}</span> with the subject corrupted (noise σ {effectText(setup.noiseLevel)},{' '}
            {setup.samples} samples); the total effect is {effectText(setup.totalEffect)}.
          </p>
          {suggestion && decoder && (
            <p className="mt-2 rounded bg-sky-50 p-2 text-sm text-sky-900" data-testid="trace-suggestion" data-layer={suggestion.layer}>
              In the encoder, restoring the {KIND_PHRASE[suggestion.kind]} at the subject’s last token ({visibleToken(setup.tokens[suggestion.token] ?? '')})
              brings back the most of p({targetText}) at <strong>encoder layer {suggestion.layer}</strong>: {effectText(suggestion.effects[suggestion.layer] ?? 0)}.
              Edits of this model act on the decoder ({EDIT_METHODS.filter((m) => editsArchitecture(m, 'encoder-decoder')).map((m) => m.name).join(', ')}); {EDIT_METHODS.filter((m) => !editsArchitecture(m, 'encoder-decoder')).map((m) => m.name).join(' and ')}, which edit where the subject is read, refuse it.
            </p>
          )}
          {suggestion && !decoder && (
            <div className="mt-2 rounded bg-sky-50 p-2 text-sm text-sky-900">
              <p data-testid="trace-suggestion" data-layer={suggestion.layer}>
                Suggested layer to edit: <strong>layer {suggestion.layer}</strong>. Restoring the {KIND_PHRASE[suggestion.kind]} there at the subject’s last
                token ({visibleToken(setup.tokens[suggestion.token] ?? '')}) brings back the most of p({targetText}):{' '}
                {effectText(suggestion.effects[suggestion.layer] ?? 0)}.
              </p>
              {strongest && strongest.token !== suggestion.token && strongest.value > 2 * (suggestion.effects[suggestion.layer] ?? 0) && (
                <p className="mt-1" data-testid="trace-strongest">
                  The strongest {KIND_PHRASE[suggestion.kind]} effect is elsewhere: {effectText(strongest.value)} at layer {strongest.layer}, token{' '}
                  {visibleToken(setup.tokens[strongest.token] ?? '')}. This model may look the fact up there rather than at the subject; ROME and MEMIT
                  can edit at that token (<code>factToken: &quot;last&quot;</code> for the prompt’s last token).
                </p>
              )}
            </div>
          )}
          <HeatmapLegend min={view.min} max={view.max} target={targetText} />
          {decoder && (
            <h3 className="mt-4 text-sm font-semibold text-neutral-800" id="trace-encoder-title">
              Encoder: layers × prompt tokens
            </h3>
          )}
          {view.kinds.map((kind) => (
            <Heatmap
              key={kind}
              kind={kind}
              setup={setup}
              cells={view.cells[kind]}
              min={view.min}
              max={view.max}
              highlight={suggestion?.kind === kind ? { layer: suggestion.layer, token: suggestion.token } : null}
              stack={decoder ? 'encoder' : undefined}
            />
          ))}
          {decoder && (
            <div data-testid="trace-decoder">
              <h3 className="mt-6 text-sm font-semibold text-neutral-800">Decoder: layers × decoder positions</h3>
              <p className="mt-1 text-xs text-neutral-600">
                The decoder reads only its start token here; its attention row restores the cross-attention output, where the corrupted encoder states
                enter. The colour scale is shared with the encoder’s heatmaps.
              </p>
              {view.kinds.map((kind) => (
                <Heatmap key={kind} kind={kind} setup={setup} cells={decoder.cells[kind]} min={view.min} max={view.max} highlight={null} stack="decoder" />
              ))}
            </div>
          )}
        </div>
      )}
    </section>
  );
}
