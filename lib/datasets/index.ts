/**
 * Knowledge-editing dataset formats: zod schemas that are the dataset loaders' contract, and a
 * format detector for files given by upload or path.
 */
import { z } from 'zod';
import type { CounterFactFlatRecord, CounterFactRecord } from './counterfact';
import { counterFactFlatFileSchema, counterFactFileSchema } from './counterfact';
import type { KnowEditRecord, KnowEditWikiBioRecord } from './knowedit';
import { knowEditFileSchema, knowEditWikiBioFileSchema } from './knowedit';
import type { ZsreRecord } from './zsre';
import { zsreFileSchema } from './zsre';

export * from './counterfact';
export * from './knowedit';
export * from './zsre';

export type EditingDataset =
  | { format: 'counterfact'; records: CounterFactRecord[] }
  | { format: 'counterfact-flat'; records: CounterFactFlatRecord[] }
  | { format: 'zsre'; records: ZsreRecord[] }
  | { format: 'knowedit'; records: KnowEditRecord[] }
  | { format: 'knowedit-wikibio'; records: KnowEditWikiBioRecord[] };

export type EditingFormat = EditingDataset['format'];

/** The format of a record, from the keys that only that format has; undefined when none matches. */
export function detectEditingFormat(record: unknown): EditingFormat | undefined {
  if (typeof record !== 'object' || record === null) return undefined;
  const has = (key: string) => key in record;
  if (has('requested_rewrite')) return 'counterfact';
  if (has('src') && has('alt')) return 'zsre';
  if (has('locality_prompt') && has('case_id')) return 'counterfact-flat';
  if (has('text') && has('labels') && has('concept')) return 'knowedit-wikibio';
  if (has('prompt') && has('target_new') && (has('portability') || has('locality'))) return 'knowedit';
  return undefined;
}

/**
 * Parse a whole file (a JSON array of records) in whichever format its first record has.
 * Throws a ZodError naming the failing record and field when a record does not conform.
 */
export function parseEditingDataset(json: unknown): EditingDataset {
  const records = z.array(z.unknown()).parse(json);
  const format = detectEditingFormat(records[0]);
  switch (format) {
    case 'counterfact':
      return { format, records: counterFactFileSchema.parse(records) };
    case 'counterfact-flat':
      return { format, records: counterFactFlatFileSchema.parse(records) };
    case 'zsre':
      return { format, records: zsreFileSchema.parse(records) };
    case 'knowedit':
      return { format, records: knowEditFileSchema.parse(records) };
    case 'knowedit-wikibio':
      return { format, records: knowEditWikiBioFileSchema.parse(records) };
    default:
      throw new Error('parseEditingDataset: unknown format (expected CounterFact, zsRE or KnowEdit records)');
  }
}
