/**
 * Portability review (issue 7): annotators validate the GPT-4-generated one-hop portability
 * questions of the EasyEdit CounterFact and zsRE files (Yao et al. 2023), one item at a time.
 * Request and response schemas of /api/review/**; server/review implements them.
 */
import { z } from 'zod';
import { ModelId } from './models';

/** The formats whose records carry a one-hop `portability` question. */
export const ReviewFormat = z.enum(['counterfact', 'zsre']);
export type ReviewFormat = z.infer<typeof ReviewFormat>;

/** What a reviewer decided; an edit is an accept with the question and/or answer rewritten. */
export const Decision = z.enum(['accept', 'reject', 'flag']);
export type Decision = z.infer<typeof Decision>;

export const REVIEWER_MAX_CHARS = 80;
export const TEXT_MAX_CHARS = 2000;

export const ReviewerName = z
  .string({ error: 'Enter your name as reviewer' })
  .trim()
  .min(1, { error: 'Enter your name as reviewer' })
  .max(REVIEWER_MAX_CHARS, { error: `The reviewer name is longer than ${REVIEWER_MAX_CHARS} characters` });

/** One portability question to review, with the edit it sits on. */
export const ReviewItem = z.object({
  importId: z.string(),
  /** Position in the import, from 0. */
  index: z.number().int(),
  /** The record of the imported file it comes from. */
  recordIndex: z.number().int(),
  subject: z.string(),
  /** The original fact: the prompt with the subject filled in, and its true answer. */
  prompt: z.string(),
  trueAnswer: z.string(),
  /** The edit's counterfactual answer (CounterFact target_new, zsRE alt). */
  newTarget: z.string(),
  /** "(head, relation, tail)" recalled on top of the edit. */
  recalledRelation: z.string().nullable(),
  question: z.string(),
  answer: z.string(),
});
export type ReviewItem = z.infer<typeof ReviewItem>;

export const ReviewRecord = z.object({
  reviewer: z.string(),
  decision: Decision,
  /** The rewritten question/answer when the reviewer edited them, else null. */
  question: z.string().nullable(),
  answer: z.string().nullable(),
  note: z.string().nullable(),
  at: z.string(),
});
export type ReviewRecord = z.infer<typeof ReviewRecord>;

/** The automatic check: is the true answer's first token in the model's top-10 after the prompt? */
export const KnowledgeCheck = z.object({
  model: z.string(),
  knows: z.boolean(),
  /** 1-based rank of the answer's first token among the top k, null when not among them. */
  rank: z.number().int().nullable(),
  /** The answer's first token as the model's tokenizer writes it (" London"). */
  answerToken: z.string(),
  top: z.array(z.object({ token: z.string(), prob: z.number() })),
  at: z.string(),
});
export type KnowledgeCheck = z.infer<typeof KnowledgeCheck>;

export const Progress = z.object({
  total: z.number().int(),
  /** Items this reviewer has decided. */
  reviewed: z.number().int(),
  /** Items anyone has decided. */
  reviewedByAnyone: z.number().int(),
  checked: z.number().int(),
});
export type Progress = z.infer<typeof Progress>;

export const ImportSummary = z.object({
  id: z.string(),
  name: z.string(),
  format: ReviewFormat,
  records: z.number().int(),
  items: z.number().int(),
  createdAt: z.string(),
});
export type ImportSummary = z.infer<typeof ImportSummary>;

export const ImportsResponse = z.object({ imports: z.array(ImportSummary) });
export type ImportsResponse = z.infer<typeof ImportsResponse>;

/** POST /api/review/import: one of the shared sample files by name, or a file's parsed JSON. */
export const ImportRequest = z.union([
  z.object({ source: z.string().min(1, { error: 'Choose a source file' }) }),
  z.object({ name: z.string().min(1).max(200), data: z.unknown() }),
]);
export type ImportRequest = z.infer<typeof ImportRequest>;

export const Source = z.object({ name: z.string(), dataset: z.string() });
export const SourcesResponse = z.object({ sources: z.array(Source) });
export type SourcesResponse = z.infer<typeof SourcesResponse>;

/** GET /api/review/next: the next item this reviewer has not decided (null when none is left). */
export const NextResponse = z.object({
  item: ReviewItem.nullable(),
  /** This reviewer's earlier review of the item, if any (never, for the queue). */
  reviews: z.array(ReviewRecord),
  check: KnowledgeCheck.nullable(),
  progress: Progress,
});
export type NextResponse = z.infer<typeof NextResponse>;

const optionalText = (what: string) =>
  z
    .string()
    .trim()
    .min(1, { error: `The ${what} is empty` })
    .max(TEXT_MAX_CHARS, { error: `The ${what} is longer than ${TEXT_MAX_CHARS} characters` })
    .optional();

/** POST /api/review/decision. */
export const DecisionRequest = z
  .object({
    import: z.string().min(1),
    item: z.number().int().min(0),
    reviewer: ReviewerName,
    decision: Decision,
    question: optionalText('question'),
    answer: optionalText('answer'),
    note: z.string().trim().max(TEXT_MAX_CHARS, { error: `The note is longer than ${TEXT_MAX_CHARS} characters` }).optional(),
  })
  .refine((r) => r.decision !== 'flag' || (r.note !== undefined && r.note.length > 0), { error: 'Say why you flag it (a note)', path: ['note'] })
  .refine((r) => r.decision === 'accept' || (r.question === undefined && r.answer === undefined), {
    error: 'Only an accept can carry an edited question or answer',
    path: ['decision'],
  });
export type DecisionRequest = z.input<typeof DecisionRequest>;

export const DecisionResponse = z.object({ progress: Progress });

/** Agreement between reviewers over one import. */
export const Agreement = z.object({
  reviewers: z.array(z.string()),
  /** Items reviewed by two or more reviewers. */
  sharedItems: z.number().int(),
  /** Share of those items where every decision is the same; null when there are none. */
  allAgree: z.number().nullable(),
  /** Cohen's kappa of the first two reviewers on their common items; null when undefined. */
  kappa: z
    .object({ a: z.string(), b: z.string(), items: z.number().int(), observed: z.number(), expected: z.number(), value: z.number().nullable() })
    .nullable(),
});
export type Agreement = z.infer<typeof Agreement>;

export const CHECK_BATCH_MAX = 20;

/** POST /api/review/check: run the automatic check on some items of an import. */
export const CheckRequest = z.object({
  import: z.string().min(1),
  model: ModelId,
  items: z
    .array(z.number().int().min(0))
    .min(1, { error: 'Choose items to check' })
    .max(CHECK_BATCH_MAX, { error: `At most ${CHECK_BATCH_MAX} items per request` }),
});
export type CheckRequest = z.input<typeof CheckRequest>;

export const CheckResponse = z.object({
  results: z.array(z.object({ item: z.number().int(), check: KnowledgeCheck })),
  progress: Progress,
});
export type CheckResponse = z.infer<typeof CheckResponse>;

/** GET /api/review/next?import=&reviewer=&after= (after: the item shown now, to skip past it). */
export const NextQuery = z.object({
  import: z.string({ error: 'Choose an import' }).min(1, { error: 'Choose an import' }),
  reviewer: ReviewerName,
  after: z.coerce.number({ error: 'after must be a number' }).int().min(-1).default(-1),
});

/** GET /api/review/export?import=&status=accepted. */
export const ExportQuery = z.object({
  import: z.string({ error: 'Choose an import' }).min(1, { error: 'Choose an import' }),
  status: z.enum(['accepted'], { error: 'status must be "accepted"' }).default('accepted'),
});

/** GET /api/review/agreement?import=. */
export const ImportQuery = z.object({ import: z.string({ error: 'Choose an import' }).min(1, { error: 'Choose an import' }) });
