import { z } from 'zod';

/** The body of every non-2xx answer from /api/**: a sentence for people, never a stack trace. */
export const ApiError = z.object({
  error: z.string(),
  /** Which request fields were invalid, for 400s from schema validation. */
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
export type ApiError = z.infer<typeof ApiError>;

/** Issues of a failed parse as `field: message` pairs (the root is "(body)"). */
export function describeIssues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({ path: issue.path.join('.') || '(body)', message: issue.message }));
}

/** One line for a failed parse: "prompt: Enter a prompt; k: ...". */
export function issuesMessage(error: z.ZodError): string {
  return describeIssues(error)
    .map((i) => (i.path === '(body)' ? i.message : `${i.path}: ${i.message}`))
    .join('; ');
}
