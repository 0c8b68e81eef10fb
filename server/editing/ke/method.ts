import type { EditRequest } from '../../../lib/editing/request';
import { fillPrompt } from '../../../lib/editing/request';
import type { EditContext, EditOutcome, Editor, WeightDelta } from '../editor';
import { throwIfCancelled } from '../editor';
import { targetIds } from '../mend/train';
import { loadTrained } from '../trained/load';
import { KE_ARCHITECTURE, KeHparams, keDefaults } from './hparams';
import { editFactors } from '../mend/meta';
import { conditionText, keDeltas } from './meta';
import { KeNetworks } from './networks';

/**
 * KE: the trained hyper-network reads the request and the edit gradient and returns a dense ΔW per
 * edited weight (∇W ⊙ A + B, A and B rank one). One request per call (KE edits one fact at a time);
 * needs a trained editor for the model and layers (`npx locus train --method ke`).
 */
export const ke: Editor<typeof KeHparams> = {
  name: 'KE',
  hparams: KeHparams,
  defaults: keDefaults,
  batchable: false,
  needs: { secondMoments: false, contextTemplates: false, trainedEditor: true },
  async apply(ctx: EditContext, requests: readonly EditRequest[], hp: KeHparams): Promise<EditOutcome> {
    if (!requests.length) return { deltas: [], stats: {} };
    if (requests.length > 1) throw new Error(`KE edits one request per call, got ${requests.length}`);
    const nets = await loadTrained(ctx, 'ke', 'KE', hp, KE_ARCHITECTURE, (meta) => new KeNetworks(ctx.lm.engine, ctx.lm, { ...hp, ...(meta as object), layers: hp.layers }));
    throwIfCancelled(ctx.signal);
    const { lm } = ctx;
    const r = requests[0]!;
    const prompt = fillPrompt(r).text;
    const example = { edit: { prompt: lm.encode(prompt), target: targetIds(lm, r.targetNew) }, condition: lm.encode(conditionText(prompt, r.targetNew, r.targetTrue)) };
    ctx.onProgress?.({ type: 'stage', stage: 'hyper-network', detail: `layers ${hp.layers.join(',')}` });
    const engine = lm.engine;
    const { factors, loss: pre } = editFactors(lm, nets.weights, [example.edit]);
    const tensors = engine.noGrad(() => engine.tidy(() => keDeltas(lm, nets, example, factors).map((t) => Float32Array.from(t.valuesSync()))));
    const deltas = nets.weights.map((w, i): WeightDelta => {
      const [rows, cols] = w.transposed ? [w.inDim, w.outDim] : [w.outDim, w.inDim];
      return { param: w.name, kind: 'dense', rows, cols, values: tensors[i]! };
    });
    return { deltas, stats: { preEditNll: pre, layers: hp.layers.join(','), weights: deltas.length } };
  },
};
