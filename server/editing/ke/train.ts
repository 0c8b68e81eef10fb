/** Training KE's hyper-network on an edit train split: the loop of ../trained/loop.ts with KE's loss. */
import type { EditableLM } from '../../models/editable';
import { tokenize, trainingKey } from '../mend/train';
import { trainLoop, type TrainOptions, type TrainRecord, type TrainResult } from '../trained/loop';
import type { TrainedEditorStore } from '../trained/store';
import { KE_ARCHITECTURE, type KeHparams } from './hparams';
import { conditionText, keLoss, type KeExample } from './meta';
import { KeNetworks } from './networks';

export function keExamples(lm: EditableLM, records: readonly TrainRecord[]): KeExample[] {
  const base = tokenize(lm, records);
  return records.map((r, i) => ({ ...base[i]!, condition: lm.encode(conditionText(r.prompt, r.target, r.targetTrue)) }));
}

export async function trainKe(lm: EditableLM, store: TrainedEditorStore, records: readonly TrainRecord[], hp: KeHparams, opts: TrainOptions = {}): Promise<TrainResult> {
  const nets = new KeNetworks(lm.engine, lm, hp);
  const params = nets.parameters();
  return trainLoop(
    lm,
    {
      method: 'ke',
      store,
      layers: hp.layers,
      hp,
      key: trainingKey(hp),
      nets: { groups: [{ params, lr: hp.lr }], values: () => nets.values(), load: (v) => nets.load(v), dispose: () => nets.dispose() },
      examples: keExamples(lm, records),
      loss: (batch) => {
        const m = keLoss(lm, nets, batch, hp.cloc);
        return { total: m.total, terms: { edit: m.edit, loc: m.loc, preEdit: m.pre } };
      },
      meta: { architecture: Object.fromEntries(KE_ARCHITECTURE.map((k) => [k, hp[k]])), hparams: hp },
      detail: `${records.length} records, layers ${hp.layers.join(',')} (${hp.projections.join('+')}), ${params.reduce((n, p) => n + p.size, 0)} hyper-network parameters`,
    },
    opts,
  );
}
