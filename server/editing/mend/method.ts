import type { EditRequest } from '../../../lib/editing/request';
import { fillPrompt } from '../../../lib/editing/request';
import type { LanguageModel } from '../../models/lm';
import type { EditContext, EditOutcome, Editor, WeightDelta } from '../editor';
import { throwIfCancelled } from '../editor';
import { UntrainedEditorError, type TrainedEditorStore } from '../trained/store';
import { MendNetworks } from './editor-net';
import { MEND_ARCHITECTURE, MendHparams, mendDefaults } from './hparams';
import { editFactors, transformFactors } from './meta';

/**
 * MEND: the gradient of the edit loss, decomposed per token into (u, δ) for each edited MLP weight,
 * goes through the trained editor networks; the edit is ΔW = −α Σ_t ũ_t δ̃_tᵀ per weight, a delta
 * of rank ≤ the number of tokens. Batchable: a batch's gradients are summed into one ΔW, as MEND
 * edits a batch. Needs a trained editor for the model and layers (`npx locus train --method mend`).
 */
export const mend: Editor<typeof MendHparams> = {
  name: 'MEND',
  hparams: MendHparams,
  defaults: (lm: LanguageModel) => mendDefaults(lm),
  batchable: true,
  needs: { secondMoments: false, contextTemplates: false, trainedEditor: true },
  async apply(ctx: EditContext, requests: readonly EditRequest[], hp: MendHparams): Promise<EditOutcome> {
    if (!requests.length) return { deltas: [], stats: {} };
    const nets = await trainedMend(ctx, hp);
    throwIfCancelled(ctx.signal);
    const { lm } = ctx;
    const examples = requests.map((r) => {
      const target = lm.tokenizer.encode(r.targetNew, { addSpecialTokens: false }).ids;
      if (!target.length) throw new Error(`MEND: target ${JSON.stringify(r.targetNew)} has no tokens`);
      return { prompt: lm.encode(fillPrompt(r).text), target };
    });
    ctx.onProgress?.({ type: 'stage', stage: 'gradient', detail: `layers ${hp.layers.join(',')}, ${requests.length} request(s)` });
    const { factors, loss } = editFactors(lm.network, nets.weights, examples);
    const engine = lm.engine;
    const deltas = engine.noGrad(() =>
      engine.tidy(() =>
        transformFactors(nets, factors).map(({ u, delta }, i): WeightDelta => {
          const w = nets.weights[i]!;
          const n = factors[i]!.n;
          const alpha = nets.alphas[i]!.valuesSync()[0]!;
          // ΔW = −α Ũᵀ D̃; left/right are [rows, n] and [cols, n] of the stored layout
          const uT = transpose(u.valuesSync() as Float32Array, n, w.inDim); // [in, n]
          const dT = transpose(delta.valuesSync() as Float32Array, n, w.outDim, -alpha); // [out, n]
          return w.transposed
            ? { param: w.name, kind: 'lowRank', rows: w.inDim, cols: w.outDim, rank: n, left: uT, right: dT }
            : { param: w.name, kind: 'lowRank', rows: w.outDim, cols: w.inDim, rank: n, left: dT, right: uT };
        }),
      ),
    );
    return { deltas, stats: { preEditNll: loss, tokens: factors[0]?.n ?? 0, layers: hp.layers.join(','), weights: deltas.length } };
  },
};

/** [n, d] row-major -> [d, n], times `scale`. */
function transpose(rows: Float32Array, n: number, d: number, scale = 1): Float32Array {
  const out = new Float32Array(n * d);
  for (let r = 0; r < n; r++) for (let c = 0; c < d; c++) out[c * n + r] = scale * rows[r * d + c]!;
  return out;
}

/** The trained editor networks for these layers, loaded once per file version; a clear refusal when there are none. */
async function trainedMend(ctx: EditContext, hp: MendHparams): Promise<MendNetworks> {
  const store: TrainedEditorStore | undefined = ctx.trained;
  const command = store?.trainCommand('mend', hp.layers) ?? `npx locus train --method mend --model <model> --hparams '{"layers":[${hp.layers.join(',')}]}'`;
  if (!store) throw new UntrainedEditorError(`train MEND for this model first: ${command} (no trained editors are available here)`);
  const file = store.file('mend', hp.layers);
  const nets = await store.cached(
    file,
    ({ tensors, meta }) => {
      const architecture = (meta.architecture ?? {}) as Record<string, unknown>;
      const differs = MEND_ARCHITECTURE.filter((k) => JSON.stringify(architecture[k]) !== JSON.stringify(hp[k]));
      if (differs.length) {
        throw new UntrainedEditorError(
          `the trained MEND editor ${file} has ${differs.map((k) => `${k} ${JSON.stringify(architecture[k])}`).join(', ')}, not ${differs.map((k) => JSON.stringify(hp[k])).join(', ')}: use its settings or train again (${command})`,
        );
      }
      const spec = (meta.spec ?? {}) as Record<string, unknown>;
      const own = ctx.lm.network.spec;
      if (spec.hidden !== own.hidden || spec.mlpHidden !== own.mlpHidden || spec.layers !== own.layers) {
        throw new UntrainedEditorError(`the trained MEND editor ${file} was trained on another architecture (${JSON.stringify(spec)}): ${command}`);
      }
      const loaded = new MendNetworks(ctx.lm.engine, ctx.lm.network, { ...hp, ...(meta.hparams as object), layers: hp.layers });
      loaded.load(tensors);
      return loaded;
    },
    (old) => old.dispose(),
  );
  if (!nets) throw new UntrainedEditorError(`train MEND for this model first: ${command}`);
  return nets;
}
