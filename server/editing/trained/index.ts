/**
 * The methods whose editor is a network trained beforehand on a train split, and how each trains.
 * A typed record, like EDITORS: the train job and `locus train` look methods up here.
 */
import type { EvalCase } from '../../../lib/eval';
import { fillPrompt } from '../../../lib/editing/request';
import type { EditableLM } from '../../models/editable';
import { HparamsError } from '../hparams';
import type { TrainableMethod } from '../../../lib/api/jobs';
import type { EditorId } from '../index';
import type { MendHparams } from '../mend/hparams';
import type { KeHparams } from '../ke/hparams';
import type { SeracHparams } from '../serac/hparams';
import { trainSerac } from '../serac/train';
import { trainKe } from '../ke/train';
import { trainMend } from '../mend/train';
import type { TrainOptions, TrainRecord, TrainResult } from './loop';
import type { TrainedEditorStore } from './store';

export type { TrainOptions, TrainProgress, TrainRecord, TrainResult } from './loop';

export interface Trainer {
  /** The world's train splits (data/world/datasets/<name>.json) it trains on unless told otherwise. */
  splits: readonly string[];
  train(lm: EditableLM, store: TrainedEditorStore, records: readonly TrainRecord[], hparams: Record<string, unknown>, opts: TrainOptions): Promise<TrainResult>;
}

export const TRAINERS = {
  mend: { splits: ['zsre-train'], train: (lm, store, records, hp, opts) => trainMend(lm, store, records, hp as MendHparams, opts) },
  ke: { splits: ['zsre-train'], train: (lm, store, records, hp, opts) => trainKe(lm, store, records, hp as KeHparams, opts) },
  // SERAC's scope takes in statements as well as questions, and KnowEdit's records bring the
  // negatives that matter most (the same subject, another relation) and portability questions.
  serac: { splits: ['zsre-train', 'knowedit-train'], train: (lm, store, records, hp, opts) => trainSerac(lm, store, records, hp as SeracHparams, opts) },
} satisfies Record<TrainableMethod, Trainer> & Partial<Record<EditorId, Trainer>>;

export type TrainableId = keyof typeof TRAINERS;

export function trainableIdOf(method: EditorId): TrainableId {
  if (!Object.hasOwn(TRAINERS, method)) throw new HparamsError(`${method} has no editor to train (trainable methods: ${Object.keys(TRAINERS).join(', ')})`);
  return method as TrainableId;
}

/**
 * Train records from a dataset's cases (zsRE: src → alt, rephrase, loc/loc_ans): the edit, its
 * paraphrases and its first locality prompt. Cases without a locality prompt cannot train the KL term.
 */
export function trainRecords(cases: readonly EvalCase[]): { records: TrainRecord[]; skipped: number } {
  const records: TrainRecord[] = [];
  for (const c of cases) {
    const loc = c.locality[0];
    if (!loc) continue;
    records.push({
      prompt: fillPrompt(c.request).text,
      subject: c.request.subject,
      target: c.request.targetNew,
      targetTrue: c.request.targetTrue,
      paraphrases: c.generality.map((g) => g.prompt),
      loc: { prompt: loc.prompt, answer: loc.groundTruth },
      locality: c.locality.map((l) => ({ prompt: l.prompt, answer: l.groundTruth })),
      portability: c.portability,
    });
  }
  return { records, skipped: cases.length - records.length };
}
