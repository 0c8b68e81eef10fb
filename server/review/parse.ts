/**
 * Turns a portability file (EasyEdit's one-hop CounterFact or zsRE set, SCHEMAS.md section 4) into
 * review items: one per record's `portability` question. The records are kept as they came (every
 * key, known or not) so an export rebuilds the file in the format it was imported in.
 */
import type { z } from 'zod';
import { counterFactRecordSchema, detectEditingFormat, zsreRecordSchema, type CounterFactRecord, type ZsreRecord } from '../../lib/datasets';
import type { ReviewFormat } from '../../lib/api/review';

/** A bad file; the message is for people and names the record and field at fault. */
export class ReviewImportError extends Error {
  readonly status = 400;
  constructor(message: string) {
    super(message);
    this.name = 'ReviewImportError';
  }
}

/** A review item before it has an import id and position. */
export interface ItemDraft {
  recordIndex: number;
  subject: string;
  prompt: string;
  trueAnswer: string;
  newTarget: string;
  recalledRelation: string | null;
  question: string;
  answer: string;
}

export interface ParsedPortabilityFile {
  format: ReviewFormat;
  /** The records exactly as given. */
  records: unknown[];
  items: ItemDraft[];
}

const FORMAT_NAMES: Record<string, string> = {
  'counterfact-flat': 'EasyEdit flat CounterFact',
  knowedit: 'KnowEdit',
  'knowedit-wikibio': 'KnowEdit WikiBio',
};

function fieldPath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const where = fieldPath(issue.path);
  return where ? `${where}: ${issue.message}` : issue.message;
}

function parseRecord<S extends z.ZodType>(schema: S, record: unknown, index: number, format: string): z.infer<S> {
  const parsed = schema.safeParse(record);
  if (!parsed.success) throw new ReviewImportError(`Record ${index} is not a valid ${format} record: ${firstIssue(parsed.error)}`);
  return parsed.data;
}

function counterFactItem(record: CounterFactRecord, recordIndex: number): ItemDraft | undefined {
  const p = record.portability;
  if (!p) return undefined;
  const rw = record.requested_rewrite;
  return {
    recordIndex,
    subject: rw.subject,
    prompt: rw.prompt.replace('{}', rw.subject),
    trueAnswer: rw.target_true.str,
    newTarget: rw.target_new.str,
    recalledRelation: p['Recalled Relation'],
    question: p['New Question'],
    answer: p['New Answer'],
  };
}

function zsreItem(record: ZsreRecord, recordIndex: number): ItemDraft | undefined {
  const p = record.portability;
  if (!p) return undefined;
  return {
    recordIndex,
    subject: record.subject,
    prompt: record.src,
    // EasyEdit's ZsreDataset: ground truth answers[0], edit target alt (lib/datasets/zsre.ts).
    trueAnswer: record.answers[0] ?? '',
    newTarget: record.alt,
    recalledRelation: p['Recalled Relation'],
    question: p['New Question'],
    answer: p['New Answer'],
  };
}

/** Parses a file's JSON; throws ReviewImportError with a plain message when it cannot be reviewed. */
export function parsePortabilityFile(json: unknown): ParsedPortabilityFile {
  if (!Array.isArray(json)) throw new ReviewImportError('The file is not a JSON list of records (expected [ {...}, ... ])');
  if (json.length === 0) throw new ReviewImportError('The file has no records');
  const detected = detectEditingFormat(json[0]);
  if (detected === undefined) {
    throw new ReviewImportError('Record 0 is neither a CounterFact record (with requested_rewrite) nor a zsRE record (with src and alt)');
  }
  if (detected !== 'counterfact' && detected !== 'zsre') {
    throw new ReviewImportError(
      `This is a ${FORMAT_NAMES[detected] ?? detected} file; portability review reads the one-hop CounterFact and zsRE portability files (records with portability {Recalled Relation, New Question, New Answer})`,
    );
  }
  const items: ItemDraft[] = [];
  json.forEach((record: unknown, index) => {
    const item =
      detected === 'counterfact'
        ? counterFactItem(parseRecord(counterFactRecordSchema, record, index, 'CounterFact'), index)
        : zsreItem(parseRecord(zsreRecordSchema, record, index, 'zsRE'), index);
    if (item) items.push(item);
  });
  if (!items.length) throw new ReviewImportError(`No record has a portability question (a "portability" key with "New Question" and "New Answer")`);
  return { format: detected, records: json, items };
}

/**
 * The record with an item's reviewed question and answer written back; the original is left as is.
 * Both formats keep the question under the same `portability` key.
 */
export function withPortability(record: unknown, question: string, answer: string): unknown {
  const r = record as { portability: Record<string, unknown> };
  return { ...r, portability: { ...r.portability, 'New Question': question, 'New Answer': answer } };
}
