/** Checks of the command line's arguments: each failure is a UsageError, which exits with code 2. */
import type { z } from 'zod';
import { EditRequest, templateOf } from '../../lib/editing/request';
import { editorIdOf, HparamsError, resolveHparams } from '../editing/hparams';
import type { EditorId } from '../editing/index';
import type { EditableLM } from '../models/editable';

/** A bad request (a missing or malformed option, a subject not in the prompt...): one line, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Throws unless every named option was given. */
export function required(values: Record<string, unknown>, names: readonly string[]): void {
  const missing = names.filter((name) => values[name] === undefined);
  if (missing.length) throw new UsageError(`missing ${missing.map((m) => `--${m}`).join(', ')} (see --help)`);
}

/** An integer option, at least `min` (default 0); undefined when absent. */
export function integer(name: string, value: string | undefined, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

/** A comma-separated list of integers ("1,10,100"). */
export function integers(name: string, value: string): number[] {
  return value.split(',').map((item) => integer(name, item)!);
}

export function editorId(value: string): EditorId {
  return usage(() => editorIdOf(value));
}

/** The method's hyper-parameters for this model (see server/editing/hparams.ts), a bad one as a usage error. */
export function methodHparams(method: EditorId, lm: EditableLM, given: Record<string, unknown>, location?: string): Record<string, unknown> {
  return usage(() => resolveHparams(method, lm, given, location, '--hparams'));
}

function usage<T>(f: () => T): T {
  try {
    return f();
  } catch (error) {
    if (error instanceof HparamsError) throw new UsageError(error.message);
    throw error;
  }
}

/** --hparams: a JSON object of hyper-parameters, checked against the method's schema once the model is loaded. */
export function hparamsJson(value: string | undefined): Record<string, unknown> {
  if (value === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw new UsageError(`--hparams is not JSON: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError(`--hparams must be a JSON object, got ${value}`);
  return parsed as Record<string, unknown>;
}

/** The fact of --prompt (with the subject written in), --subject and --target, as an edit request. */
export function factRequest(values: { prompt?: string; subject?: string; target?: string }): EditRequest {
  const { prompt = '', subject = '', target = '' } = values;
  const fields = EditRequest.pick({ subject: true, targetNew: true }).safeParse({ subject, targetNew: target });
  if (!fields.success) throw new UsageError(issueMessage(fields.error, (path) => `--${path === 'targetNew' ? 'target' : path}`));
  let template: string;
  try {
    template = templateOf(prompt, subject);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return EditRequest.parse({ prompt: template, ...fields.data });
}

/** The first issue of a zod error as one line: `where` names the option its path stands for. */
export function issueMessage(error: z.ZodError, where: (path: string) => string): string {
  const issue = error.issues[0]!;
  return `${where(issue.path.join('.'))}: ${issue.message}`;
}
