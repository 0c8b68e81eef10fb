import type { EditRequest } from '../../../lib/editing/request';
import { fillPrompt } from '../../../lib/editing/request';
import type { EditContext, EditOutcome, Editor, WeightDelta } from '../editor';
import { throwIfCancelled } from '../editor';
import { loadTrained } from '../trained/load';
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
  defaults: mendDefaults,
  batchable: true,
  needs: { secondMoments: false, contextTemplates: false, trainedEditor: true },
  async apply(ctx: EditContext, requests: readonly EditRequest[], hp: MendHparams): Promise<EditOutcome> {
    if (!requests.length) return { deltas: [], stats: {} };
    const nets = await loadTrained(ctx, 'mend', 'MEND', hp, MEND_ARCHITECTURE, (saved) => new MendNetworks(ctx.lm.engine, ctx.lm, { ...hp, ...(saved as object), layers: hp.layers }));
    throwIfCancelled(ctx.signal);
    const { lm } = ctx;
    const examples = requests.map((r) => {
      const target = lm.tokenizer.encode(r.targetNew, { addSpecialTokens: false }).ids;
      if (!target.length) throw new Error(`MEND: target ${JSON.stringify(r.targetNew)} has no tokens`);
      return { prompt: lm.encode(fillPrompt(r).text), target };
    });
    ctx.onProgress?.({ type: 'stage', stage: 'gradient', detail: `layers ${hp.layers.join(',')}, ${requests.length} request(s)` });
    const { factors, loss } = editFactors(lm, nets.weights, examples);
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
