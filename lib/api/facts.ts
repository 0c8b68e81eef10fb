import { z } from 'zod';

/** A fact the world model was trained on, offered in the studio as a starting prompt. */
export const ExampleFact = z.object({
  prompt: z.string(),
  answer: z.string(),
  subject: z.string(),
  relation: z.string(),
});
export type ExampleFact = z.infer<typeof ExampleFact>;
