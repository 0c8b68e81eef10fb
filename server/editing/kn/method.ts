import type { EditRequest } from '../../../lib/editing/request';
import type { EditableLM } from '../../models/editable';
import type { EditContext, EditOutcome, Editor, WeightDelta } from '../editor';
import { knowledgeNeurons, type Neuron } from './attribute';
import { KnHparams, knDefaults } from './hparams';

/**
 * Knowledge neurons (Dai et al. 2022, "Knowledge Neurons in Pretrained Transformers"):
 *   1. attribute p(old answer | prompt) to every MLP neuron at the last token by integrated gradients;
 *   2. keep those above 0.2 × the maximum, shared by ≥ 50 % of the fact's prompts;
 *   3. in W_out, the selected neurons' rows (their output vectors) get
 *      scale · (e_new − e_old), e = the token embedding of the new target's first token and of the
 *      model's current prediction (the reference's edit_knowledge).
 * Per touched layer this is rank one: ΔW = 1_S (scale · (e_new − e_old))ᵀ. Requests are edited
 * independently, each attributed on the unedited model. Known to be weak (seed paper, Table 2).
 */
export const kn: Editor<typeof KnHparams> = {
  name: 'KN',
  hparams: KnHparams,
  defaults: () => knDefaults(),
  batchable: false,
  needs: { secondMoments: false, contextTemplates: true, trainedEditor: false },
  async apply(ctx: EditContext, requests: readonly EditRequest[], hp: KnHparams): Promise<EditOutcome> {
    const { lm } = ctx;
    const spec = lm.editSpec;
    const layers = hp.layers.length ? hp.layers : Array.from({ length: spec.layers }, (_, l) => l);
    for (const l of layers) if (l >= spec.layers) throw new Error(`KN: layer ${l} does not exist (the model has ${spec.layers})`);
    const templates = hp.useContextTemplates ? ctx.templates.get() : ['{}'];
    const deltas: WeightDelta[] = [];
    const stats: Record<string, number | string> = {};
    for (const [r, request] of requests.entries()) {
      const filled = request.prompt.replace('{}', request.subject);
      const prompts = templates.map((t) => lm.encode(t.replace('{}', filled)));
      const predicted = lm.topK([filled], 1)[0]![0]!.id;
      const target = lm.tokenizer.encode(request.targetNew, { addSpecialTokens: false }).ids[0];
      if (target === undefined) throw new Error(`KN: target ${JSON.stringify(request.targetNew)} has no tokens`);
      // The fact to locate: the stated true object when given, else what the model now says.
      const trueIds = request.targetTrue ? lm.tokenizer.encode(request.targetTrue, { addSpecialTokens: false }).ids : [];
      const answer = trueIds[0] ?? predicted;
      ctx.onProgress?.({ type: 'stage', stage: 'attribute', detail: `request ${r}: integrated gradients over ${layers.length} layers, ${prompts.length} prompt(s)` });
      await new Promise((res) => setImmediate(res));
      const found = knowledgeNeurons(lm, prompts, answer, layers, hp, ctx.signal);
      stats[`request${r}.neurons`] = found.neurons.length;
      stats[`request${r}.maxAttribution`] = found.maxAttribution;
      stats[`request${r}.selected`] = found.neurons.map((n) => `${n.layer}:${n.index}`).join(' ');
      if (!found.neurons.length) continue;
      ctx.onProgress?.({ type: 'stage', stage: 'update', detail: `request ${r}: rewriting ${found.neurons.length} neuron(s)` });
      // e_new − e_old: input embeddings of the edit stack (a position embedding added there cancels)
      const [eOld, eNew] = lm.tokenEmbeddings([predicted, target]);
      const direction = Float32Array.from(eNew!, (v, i) => hp.editScale * (v - eOld![i]!));
      deltas.push(...neuronDeltas(lm, found.neurons, direction));
    }
    return { deltas, stats };
  },
};

/** One rank-one delta per touched layer: the neurons' rows of W_out (stored layout) get `direction`. */
function neuronDeltas(lm: EditableLM, neurons: readonly Neuron[], direction: Float32Array): WeightDelta[] {
  const { hidden, mlpHidden } = lm.editSpec;
  const byLayer = new Map<number, number[]>();
  for (const n of neurons) byLayer.set(n.layer, [...(byLayer.get(n.layer) ?? []), n.index]);
  return [...byLayer].map(([layer, indices]) => {
    const { name, transposed } = lm.mlpOutWeight(layer);
    const indicator = new Float32Array(mlpHidden);
    for (const i of indices) indicator[i] = 1;
    // GPT-2's Conv1D stores [F, H]: neuron i is row i; a Linear stores [H, F]: neuron i is column i.
    return transposed
      ? { param: name, kind: 'lowRank' as const, rows: mlpHidden, cols: hidden, rank: 1, left: indicator, right: direction }
      : { param: name, kind: 'lowRank' as const, rows: hidden, cols: mlpHidden, rank: 1, left: direction, right: indicator };
  });
}
