'use client';

import { useCallback, useEffect, useReducer, useRef } from 'react';
import { cancelJob, followJob, startJob, type JobStart } from '@/lib/api/job-client';
import type { ZodType } from 'zod';
import { FINISHED_STATES, type JobState, type JobSummary } from '@/lib/api/jobs';

/** How a job's progress and result are read; null for data that does not fit (it is skipped). */
export interface JobParsers<P, R> {
  progress(data: unknown): P | null;
  result(data: unknown): R | null;
  /** Called once when the job reaches its final state (done, failed, cancelled). */
  onFinished?(state: JobState): void;
}

/** A parser of JobParsers from a schema: the data when it fits, else null. */
export function parserOf<T>(schema: ZodType<T>): (data: unknown) => T | null {
  return (data) => {
    const parsed = schema.safeParse(data);
    return parsed.success ? parsed.data : null;
  };
}

export interface JobView<P, R> {
  /** The job as POST /api/jobs answered; null before start. */
  summary: JobSummary | null;
  /** The latest state from the job's events ('queued' right after start). */
  state: JobState | null;
  /** Between pressing start and the server's answer. */
  starting: boolean;
  /** The progress events so far, in order. */
  events: P[];
  result: R | null;
  /** Why the job could not start, failed, or could not be followed: the server's sentence. */
  error: string | null;
  /** Cancel was asked and the job has not stopped yet. */
  cancelling: boolean;
}

type Action<P, R> =
  | { type: 'starting' }
  | { type: 'started'; summary: JobSummary }
  | { type: 'state'; state: JobState; error: string | null }
  | { type: 'progress'; event: P }
  | { type: 'result'; result: R }
  | { type: 'error'; error: string }
  | { type: 'cancelling'; on: boolean }
  | { type: 'reset' };

const idle = { summary: null, state: null, starting: false, events: [], result: null, error: null, cancelling: false };

function reducer<P, R>(view: JobView<P, R>, action: Action<P, R>): JobView<P, R> {
  switch (action.type) {
    case 'starting':
      return { ...idle, starting: true };
    case 'started':
      return { ...view, starting: false, summary: action.summary, state: view.state ?? action.summary.state };
    case 'state': {
      const done = FINISHED_STATES.includes(action.state);
      return { ...view, state: action.state, error: action.error ?? view.error, cancelling: done ? false : view.cancelling };
    }
    case 'progress':
      return { ...view, events: [...view.events, action.event] };
    case 'result':
      return { ...view, result: action.result };
    case 'error':
      return { ...view, starting: false, cancelling: false, error: action.error };
    case 'cancelling':
      return { ...view, cancelling: action.on };
    case 'reset':
      return idle;
  }
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * One job at a time: start() submits it (a running one is left to the server and no longer
 * followed), its events stream into `events`, `result` and `state`, and cancel() asks it to stop.
 */
export function useJob<P, R>(parsers: JobParsers<P, R>) {
  const [view, dispatch] = useReducer(reducer<P, R>, idle as JobView<P, R>);
  const parsersRef = useRef(parsers);
  const stopRef = useRef<(() => void) | null>(null);
  // A start() superseded by a later one must not follow its job.
  const generation = useRef(0);

  useEffect(() => {
    parsersRef.current = parsers;
  });
  useEffect(() => () => stopRef.current?.(), []);

  /** Follows a job's events from the first. */
  const attach = useCallback((summary: JobSummary) => {
    dispatch({ type: 'started', summary });
    stopRef.current = followJob(summary.id, {
      onState: (state, error) => {
        dispatch({ type: 'state', state, error });
        if (FINISHED_STATES.includes(state)) parsersRef.current.onFinished?.(state);
      },
      onProgress: (data) => {
        const event = parsersRef.current.progress(data);
        if (event !== null) dispatch({ type: 'progress', event });
      },
      onResult: (data) => {
        const result = parsersRef.current.result(data);
        if (result === null) dispatch({ type: 'error', error: 'The job’s result could not be read' });
        else dispatch({ type: 'result', result });
      },
      onError: (error) => dispatch({ type: 'error', error: message(error) }),
    });
  }, []);

  const start = useCallback(
    async (input: JobStart) => {
      stopRef.current?.();
      stopRef.current = null;
      const mine = ++generation.current;
      dispatch({ type: 'starting' });
      let summary: JobSummary;
      try {
        summary = await startJob(input);
      } catch (error) {
        if (mine === generation.current) dispatch({ type: 'error', error: message(error) });
        return;
      }
      if (mine === generation.current) attach(summary);
    },
    [attach],
  );

  /** Follows a job started elsewhere (another tab, before a reload): its whole history replays. */
  const follow = useCallback(
    (summary: JobSummary) => {
      stopRef.current?.();
      dispatch({ type: 'reset' });
      generation.current++;
      attach(summary);
    },
    [attach],
  );

  const id = view.summary?.id;
  const cancel = useCallback(async () => {
    if (!id) return;
    dispatch({ type: 'cancelling', on: true });
    try {
      await cancelJob(id);
    } catch (error) {
      dispatch({ type: 'error', error: `Could not cancel: ${message(error)}` });
    }
  }, [id]);

  const reset = useCallback(() => {
    stopRef.current?.();
    stopRef.current = null;
    generation.current++;
    dispatch({ type: 'reset' });
  }, []);

  const running = view.starting || view.state === 'queued' || view.state === 'running';
  return { ...view, running, start, follow, cancel, reset };
}

/**
 * A job of a list (the list refetches, with new objects for the same job): followed live once while
 * it is unfinished; `state` and `error` are the live ones when known, else the list's.
 */
export function useListedJob<P, R>(job: JobSummary, parsers: JobParsers<P, R>) {
  const live = useJob(parsers);
  const finished = FINISHED_STATES.includes(job.state);
  const { follow } = live;
  const summary = useRef(job);
  useEffect(() => {
    if (!finished) follow(summary.current);
  }, [finished, follow, job.id]);
  return { ...live, state: live.state ?? job.state, error: live.error ?? job.error };
}

/**
 * Calls `onFinished` when a job list shows a job finished that it did not before. A short job can end
 * before the list first shows it running, and then no row ever follows it live to say so.
 */
export function useNewlyFinished(jobs: readonly JobSummary[] | undefined, onFinished: () => void) {
  const seen = useRef<Set<string> | null>(null);
  useEffect(() => {
    if (!jobs) return;
    const finished = jobs.filter((j) => FINISHED_STATES.includes(j.state)).map((j) => j.id);
    const fresh = seen.current !== null && finished.some((id) => !seen.current!.has(id));
    seen.current = new Set(finished);
    if (fresh) onFinished();
  }, [jobs, onFinished]);
}
