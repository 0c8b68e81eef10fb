import { z } from 'zod';

/**
 * One fact to rewrite, as CounterFact's requested_rewrite states it: a prompt template with "{}"
 * where the subject goes ("{} was born in"), the subject, and the new object. Targets carry their
 * leading space (" Paris"), as they follow the prompt in running text.
 */
export const EditRequest = z.object({
  prompt: z.string().min(1, 'must not be empty').refine((p) => p.includes('{}'), { message: 'prompt must contain "{}" where the subject goes' }),
  subject: z.string().min(1, 'must not be empty'),
  targetNew: z.string().min(1, 'must not be empty'),
  targetTrue: z.string().optional(),
});
export type EditRequest = z.infer<typeof EditRequest>;

/** The prompt with the subject in place, and where the subject starts in it. */
export function fillPrompt(request: EditRequest): { text: string; subjectStart: number } {
  const subjectStart = request.prompt.indexOf('{}');
  return { text: request.prompt.replace('{}', request.subject), subjectStart };
}

/** The request's "{}" template from a filled prompt, by the subject's first occurrence (fillPrompt's inverse). */
export function templateOf(prompt: string, subject: string): string {
  const at = prompt.indexOf(subject);
  if (at < 0) throw new Error(`subject "${subject}" is not in the prompt "${prompt}"`);
  return `${prompt.slice(0, at)}{}${prompt.slice(at + subject.length)}`;
}
