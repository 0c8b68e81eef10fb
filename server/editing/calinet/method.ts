import type { EditRequest } from '../../../lib/editing/request';
import { uniformArray } from '../../../lib/random';
import type { Tensor } from '../../engine';
import { Adam } from '../../engine/optim';
import { throwIfCancelled, type EditContext, type EditOutcome, type Editor } from '../editor';
import { norm } from '../linalg';
import { slotDelta, slotTrainingHooks, targetBatch, targetLoss, targetTensors, type TrainableSlots } from '../slots';
import { CaliNetHparams, calinetDefaults } from './hparams';

/**
 * CaliNET (Dong et al. 2022): calibration memory slots beside the FFNs of the last layers,
 * FFN'(x) = FFN(x) + V_c · relu(K_c · x), trained on the edits (teacher-forced NLL of the targets)
 * with the base model frozen. Keys start as nn.Linear does (uniform ±1/√D, seeded); values start
 * at zero (the reference's are random: zero keeps untrained slots from moving anything). The
 * slots have no bias (bias: false in the reference), so the delta's bias is zero. Batchable: the
 * slots are trained on all requests at once.
 */
export const calinet: Editor<typeof CaliNetHparams> = {
  name: 'CaliNET',
  hparams: CaliNetHparams,
  defaults: calinetDefaults,
  batchable: true,
  needs: { secondMoments: false, contextTemplates: false, trainedEditor: false },
  async apply(ctx: EditContext, requests: readonly EditRequest[], hp: CaliNetHparams): Promise<EditOutcome> {
    if (!requests.length) return { deltas: [], stats: {} };
    const { lm } = ctx;
    const engine = lm.engine;
    const spec = lm.editSpec;
    const layers = [...new Set(hp.layers)].sort((a, b) => a - b);
    for (const layer of layers) if (layer >= spec.layers) throw new Error(`CaliNET: layer ${layer} does not exist (the model has ${spec.layers})`);
    const hidden = spec.hidden;
    const batch = targetBatch(lm, requests, 'CaliNET');
    const targets = targetTensors(lm, batch);
    const held: Tensor[] = [];
    const keep = <T extends Tensor>(t: T): T => (held.push(t), engine.keep(t));
    const bound = 1 / Math.sqrt(hidden);
    const slots: TrainableSlots[] = layers.map((layer) => ({
      layer,
      activation: 'relu',
      keys: keep(engine.parameter(uniformArray(hp.slots * hidden, hp.seed * 1000 + layer, -bound, bound), [hp.slots, hidden])),
      bias: keep(engine.tensor(new Float32Array(hp.slots), [hp.slots])),
      values: keep(engine.parameter(new Float32Array(hp.slots * hidden), [hp.slots, hidden])),
      valueScale: 1,
    }));
    const optimizer = new Adam(
      slots.flatMap((s) => [s.keys, s.values]),
      { lr: hp.lr, weightDecay: hp.weightDecay },
    );
    ctx.onProgress?.({ type: 'stage', stage: 'calibrate', detail: `${hp.slots} slots at layer(s) ${layers.join(', ')}, ${requests.length} request(s)` });
    try {
      let steps = 0;
      let loss = Infinity;
      for (let step = 0; step < hp.maxSteps; step++) {
        throwIfCancelled(ctx.signal);
        loss = engine.tidy(() => {
          const { logits } = lm.teacherForced(batch.seqs, slotTrainingHooks(slots));
          const edit = targetLoss(logits, targets);
          const value = edit.loss.valuesSync()[0]!;
          if (value < hp.earlyStopLoss) engine.releaseGraph();
          else engine.backward(edit.loss);
          return value;
        });
        ctx.onProgress?.({ type: 'step', request: 0, step, loss, terms: { nll: loss } });
        if (loss < hp.earlyStopLoss) break;
        optimizer.step();
        optimizer.zeroGrad();
        steps = step + 1;
        await new Promise((r) => setImmediate(r));
      }
      const deltas = slots.map(slotDelta);
      return { deltas, stats: { steps, loss, slots: hp.slots * layers.length, layers: layers.join(','), valueNorm: norm(Float32Array.from(deltas.flatMap((d) => Array.from(d.values)))) } };
    } finally {
      optimizer.dispose();
      targets.dispose();
      for (const t of held) if (!t.disposed) t.dispose();
    }
  },
};
