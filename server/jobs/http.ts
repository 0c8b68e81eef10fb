/**
 * What the /api/jobs route handlers share: turning failures into `{ error }` answers and streaming a
 * job's events as Server-Sent Events.
 */
import type { JobEvent, JobSummary } from '../../lib/api/jobs';
import { errorResponse } from '../backend/http';
import { isFinished, type JobQueue } from './queue';

/** Seconds between heartbeat comments, which keep proxies from closing an idle stream. */
export const HEARTBEAT_MS = 15_000;
/** How long a browser's EventSource waits before it reconnects after a dropped connection. */
const RETRY_MS = 2_000;

/** What every event stream is served with (no caching or buffering on the way). */
const SSE_HEADERS = { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' };

/** One SSE message: `id: <seq>`, `event: <type>`, `data: <the JobEvent as JSON>`. */
export function formatEvent(event: JobEvent): string {
  return `id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/**
 * The seq to resume after: the Last-Event-ID header (what an EventSource sends when it
 * reconnects) wins over `?after=`; 0 without either. Undefined when one is not a whole number >= 0.
 */
export function resumeAfter(request: Request): number | undefined {
  const header = request.headers.get('last-event-id');
  const query = new URL(request.url).searchParams.get('after');
  const raw = header?.trim() || query?.trim() || '0';
  if (!/^\d+$/.test(raw)) return undefined;
  return Number(raw);
}

/**
 * GET /api/jobs/{id}/events: the job's events after `after` as an SSE stream that replays what is
 * persisted, follows the job live, and closes after its final state event. A job already finished
 * with nothing after `after` answers 204, which tells an EventSource to stop reconnecting.
 */
export function eventStream(jobs: JobQueue, id: string, request: Request, heartbeatMs = HEARTBEAT_MS): Response {
  const after = resumeAfter(request);
  if (after === undefined) return errorResponse(400, 'Last-Event-ID and ?after= must be an event number (0 or more)');
  const job = jobs.get(id);
  if (!job) return errorResponse(404, `No job ${id}`);
  if (job.events <= after && isFinished(job.state)) return new Response(null, { status: 204 });

  const encoder = new TextEncoder();
  let stop = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let closed = false;
      const subscription: { unsubscribe?: () => void } = {};
      const heartbeat = setInterval(() => send(': heartbeat\n\n'), heartbeatMs);
      function send(text: string) {
        if (!closed) controller.enqueue(encoder.encode(text));
      }
      // Lets go of the job: on its end, on the client's disconnect, on cancel().
      stop = () => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        subscription.unsubscribe?.();
        request.signal.removeEventListener('abort', end);
        try {
          controller.close();
        } catch {
          // Already closed or cancelled by the reader.
        }
      };
      function end() {
        stop();
      }
      request.signal.addEventListener('abort', end);
      send(`retry: ${RETRY_MS}\n\n`);
      if (request.signal.aborted) return end();
      // Replays synchronously, and may end (a finished job) before it returns. It cannot throw
      // "no job": start() runs synchronously in the constructor, in the tick of get() above.
      subscription.unsubscribe = jobs.subscribe(id, after, (event) => send(formatEvent(event)), end);
      if (closed) subscription.unsubscribe();
    },
    cancel() {
      stop();
    },
  });
  return new Response(body, { headers: SSE_HEADERS });
}

/** A job read from elsewhere (Redis): its summary and its latest progress. */
export interface PolledJob {
  summary: JobSummary;
  progress: unknown;
}

/**
 * The same event stream for a job this process does not run (a distributed evaluation on another
 * backend): it polls the job and sends a 'state' event when the state changes, a 'progress' event
 * when the latest progress changes, and the result with the final state, then closes. Events are
 * numbered from after Last-Event-ID, so a reconnecting EventSource keeps its order.
 */
export function polledEventStream(poll: () => Promise<PolledJob | undefined>, request: Request, pollMs = 500): Response {
  const after = resumeAfter(request);
  if (after === undefined) return errorResponse(400, 'Last-Event-ID and ?after= must be an event number (0 or more)');
  const encoder = new TextEncoder();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let seq = after;
      let lastState = '';
      let lastProgress = '';
      const send = (type: JobEvent['type'], data: unknown) => {
        if (!closed) controller.enqueue(encoder.encode(formatEvent({ seq: ++seq, at: new Date().toISOString(), type, data })));
      };
      const close = () => {
        if (closed) return;
        closed = true;
        clearTimeout(timer);
        try {
          controller.close();
        } catch {
          // cancelled by the reader
        }
      };
      request.signal.addEventListener('abort', close);
      controller.enqueue(encoder.encode(`retry: ${RETRY_MS}\n\n`));
      const tick = async () => {
        if (closed) return;
        let job: PolledJob | undefined;
        try {
          job = await poll();
        } catch {
          job = undefined; // Redis unreachable for a moment: try again
        }
        if (job) {
          const { state, error, result } = job.summary;
          const finished = isFinished(state);
          const changed = state !== lastState;
          lastState = state;
          // A new state first (the final one last, after its progress and result).
          if (changed && !finished) send('state', { state });
          const progress = JSON.stringify(job.progress ?? null);
          if (job.progress !== null && typeof job.progress === 'object' && progress !== lastProgress) {
            lastProgress = progress;
            send('progress', job.progress);
          }
          if (changed && finished) {
            if (state === 'done') send('result', result);
            send('state', error ? { state, error } : { state });
          }
          if (isFinished(state)) return close();
        }
        timer = setTimeout(() => void tick(), pollMs);
      };
      void tick();
    },
    cancel() {
      closed = true;
      clearTimeout(timer);
    },
  });
  return new Response(body, { headers: SSE_HEADERS });
}
