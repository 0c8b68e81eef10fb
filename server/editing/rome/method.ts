import type { EditRequest } from '../../../lib/editing/request';
import { add, matmul, reshape } from '../../engine/ops';
import { decoderOnly } from '../../models/editable';
import type { LanguageModel } from '../../models/lm';
import { addDelta, snapshot } from '../deltas';
import type { DecoderOnlyContext, EditContext, EditOutcome, Editor, WeightDelta } from '../editor';
import { choleskySolve, dot } from '../linalg';
import { computeKey, templatedPrompts } from './compute-key';
import { computeValue } from './compute-value';
import { RomeHparams, romeDefaults } from './hparams';

/**
 * ROME (Meng et al. 2022, "Locating and Editing Factual Associations in GPT"): a rank-one update
 * of one MLP's down/out projection W so that the subject's key k* maps to the value v*:
 *   u = C⁻¹ k*,   ΔW = (v* − W k* − b) uᵀ / (uᵀ k*)
 * Requests are edited one after another, each on the model with the earlier ones applied (as the
 * reference code does); the model is restored before returning.
 */
export const rome: Editor<typeof RomeHparams> = {
  name: 'ROME',
  hparams: RomeHparams,
  // refused here too: callers resolve hyper-parameters (and compute statistics) before apply
  defaults: (lm) => romeDefaults(decoderOnly(lm, 'ROME', LOCATE_THEN_EDIT_ON_SEQ2SEQ)),
  batchable: false,
  needs: { secondMoments: true, contextTemplates: true, trainedEditor: false },
  async apply(given: EditContext, requests: readonly EditRequest[], hp: RomeHparams): Promise<EditOutcome> {
    const lm = decoderOnly(given.lm, 'ROME', LOCATE_THEN_EDIT_ON_SEQ2SEQ);
    const ctx: DecoderOnlyContext = { ...given, lm };
    const deltas: WeightDelta[] = [];
    const stats: Record<string, number> = {};
    const original = snapshot(lm.network, [lm.network.mlpOutWeight(hp.layer).name]);
    try {
      for (const [i, request] of requests.entries()) {
        const delta = await editOne(ctx, i, request, hp, stats);
        addDelta(lm.network, delta);
        deltas.push(delta);
      }
    } finally {
      original.restore();
    }
    return { deltas, stats };
  },
};

/**
 * Why ROME and MEMIT refuse encoder-decoder models. Both rest on one stack that reads the subject
 * and predicts the object: the key k* is the MLP key at the subject's last token and v* is optimised
 * at that same position so that the prediction further along the same residual stream changes. In
 * T5 the subject is read by the encoder and the object predicted by the decoder, which sees the
 * subject only through cross-attention: no MLP position carries both the subject's key and the
 * prediction, so k* and v* of the derivation do not exist (an encoder-side insert would have to be
 * optimised through every decoder layer's cross-attention, which is not ROME). The seed paper
 * (Yao et al. 2023, Table 2) has no ROME or MEMIT rows for T5-XL for this reason.
 */
export const LOCATE_THEN_EDIT_ON_SEQ2SEQ =
  'it inserts a rank-one key→value memory at the subject\'s last token in the MLP of the one stack that both reads the subject and predicts the object; in an encoder-decoder model the subject is read by the encoder and the object predicted by the decoder (through cross-attention), so no MLP position holds both and the key k* and value v* it solves for do not exist (Yao et al. 2023 report no ROME/MEMIT rows for T5). Use FT-L, FT-M, KN, T-Patcher, CaliNET, MEND or KE on this model.';

async function editOne(ctx: DecoderOnlyContext, index: number, request: EditRequest, hp: RomeHparams, stats: Record<string, number>): Promise<WeightDelta> {
  const { lm } = ctx;
  const { spec } = lm.network;
  if (hp.layer >= spec.layers) throw new Error(`ROME: layer ${hp.layer} does not exist (the model has ${spec.layers})`);
  const templates = hp.useContextTemplates ? ctx.templates.get() : ['{}'];
  ctx.onProgress?.({ type: 'stage', stage: 'key', detail: `request ${index}: k* over ${templates.length} contexts` });
  const prompts = templatedPrompts(lm, request, templates, hp.factToken);
  // templates[0] is "{}", the bare prompt
  const key = computeKey(lm, hp.keyContexts === 'prompt' ? prompts.slice(0, 1) : prompts, hp.layer);

  ctx.onProgress?.({ type: 'stage', stage: 'value', detail: `request ${index}: optimising v*` });
  const value = await computeValue(ctx, index, request, prompts, hp);

  ctx.onProgress?.({ type: 'stage', stage: 'update', detail: `request ${index}: rank-one update of layer ${hp.layer}` });
  const factor = await ctx.stats.factor(hp.layer);
  const u = choleskySolve(factor, spec.mlpHidden, key); // C⁻¹ k*
  const { name, transposed } = lm.network.mlpOutWeight(hp.layer);
  const residual = subtract(value.value, mlpOutput(lm, name, transposed, key)); // v* − (W k* + b)
  const denominator = dot(u, key);
  const scaled = residual.map((r) => r / denominator);
  stats[`request${index}.steps`] = value.steps;
  stats[`request${index}.nll`] = value.nll;
  stats[`request${index}.deltaNorm`] = Math.sqrt(dot(scaled, scaled) * dot(u, u));
  const uf = Float32Array.from(u);
  // ΔW = r uᵀ: [hidden, mlpHidden] as HF Linear stores it; GPT-2's Conv1D stores the transpose.
  return transposed
    ? { param: name, kind: 'lowRank', rows: spec.mlpHidden, cols: spec.hidden, rank: 1, left: uf, right: scaled }
    : { param: name, kind: 'lowRank', rows: spec.hidden, cols: spec.mlpHidden, rank: 1, left: scaled, right: uf };
}

function subtract(a: Float32Array, b: ArrayLike<number>): Float32Array {
  return a.map((v, i) => v - b[i]!);
}

/** W k + b of the down/out projection, on the engine (the weight stays where it is; on the GPU a
 * read of it to the host cost more than the product). */
export function mlpOutput(lm: LanguageModel, name: string, transposed: boolean, key: ArrayLike<number>): Float64Array {
  const { engine, params } = lm.network;
  const { hidden, mlpHidden } = lm.network.spec;
  return engine.noGrad(() =>
    engine.tidy(() => {
      const k = engine.tensor(Float32Array.from(key), [1, mlpHidden]);
      // GPT-2's Conv1D stores W as [mlpHidden, hidden]: k W; a Linear as [hidden, mlpHidden]: k Wᵀ
      const y = matmul(k, params.get(name)!, { transB: !transposed });
      const bias = params.get(name.replace(/weight$/, 'bias'));
      return Float64Array.from((bias ? add(y, reshape(bias, [1, hidden])) : y).valuesSync());
    }),
  );
}
