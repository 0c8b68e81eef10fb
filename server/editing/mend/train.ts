/**
 * Training MEND's editor networks on an edit train split (eric-mitchell/mend trainer.py, algs/mend.py):
 * each step edits a batch of records with the current editor, scores the edited model on the edit
 * prompt and its paraphrases (NLL of the new target) and on an unrelated prompt (KL to the model
 * before the edit), and takes one Adam step on the editor networks and one on the per-weight α.
 * The loop, checkpoints and resume are shared with the other trained editors (../trained/loop.ts).
 */
import type { EditableLM } from '../../models/editable';
import { trainLoop, type TrainOptions, type TrainRecord, type TrainResult } from '../trained/loop';
import type { TrainedEditorStore } from '../trained/store';
import { MendNetworks } from './editor-net';
import { MEND_ARCHITECTURE, type MendHparams } from './hparams';
import { metaLoss, type MetaExample } from './meta';

/** Token ids of a target (its leading space included); an empty one is an error. */
export function targetIds(lm: EditableLM, text: string): number[] {
  const ids = lm.tokenizer.encode(text, { addSpecialTokens: false }).ids;
  if (!ids.length) throw new Error(`target ${JSON.stringify(text)} has no tokens`);
  return ids;
}

/** The records as tokens; records without a paraphrase are edited and scored on the prompt alone. */
export function tokenize(lm: EditableLM, records: readonly TrainRecord[]): MetaExample[] {
  return records.map((r) => {
    const t = targetIds(lm, r.target);
    return {
      edit: { prompt: lm.encode(r.prompt), target: t },
      outer: [r.prompt, ...r.paraphrases].map((p) => ({ prompt: lm.encode(p), target: t })),
      loc: { prompt: lm.encode(r.loc.prompt), target: targetIds(lm, r.loc.answer) },
    };
  });
}

/** The settings a checkpoint must share with a run to be resumed by it (all but steps and checkpointEvery). */
export function trainingKey(hp: object): string {
  const rest: Record<string, unknown> = { ...hp };
  delete rest.steps;
  delete rest.checkpointEvery;
  return JSON.stringify(rest);
}

export async function trainMend(lm: EditableLM, store: TrainedEditorStore, records: readonly TrainRecord[], hp: MendHparams, opts: TrainOptions = {}): Promise<TrainResult> {
  const nets = new MendNetworks(lm.engine, lm, hp);
  const params = nets.parameters();
  return trainLoop(
    lm,
    {
      method: 'mend',
      store,
      layers: hp.layers,
      hp,
      key: trainingKey(hp),
      nets: { groups: [{ params, lr: hp.lr }, { params: nets.alphas, lr: hp.lrLr }], values: () => nets.values(), load: (v) => nets.load(v), dispose: () => nets.dispose() },
      examples: tokenize(lm, records),
      loss: (batch) => {
        const m = metaLoss(lm, nets, batch, { cedit: hp.cedit, cloc: hp.cloc, learnNorms: true });
        return { total: m.total, terms: { edit: m.edit, loc: m.loc, preEdit: m.pre } };
      },
      meta: { architecture: Object.fromEntries(MEND_ARCHITECTURE.map((k) => [k, hp[k]])), hparams: hp },
      detail: `${records.length} records, layers ${hp.layers.join(',')} (${hp.projections.join('+')}), ${params.reduce((n, p) => n + p.size, 0)} editor parameters`,
    },
    opts,
  );
}

export type { TrainOptions, TrainProgress, TrainRecord, TrainResult } from '../trained/loop';
