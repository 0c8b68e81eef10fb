import type { EditRequest } from '../../../lib/editing/request';
import { Hooks } from '../../models/hooks';
import type { LanguageModel } from '../../models/lm';
import { addDelta, snapshot } from '../deltas';
import type { DecoderOnlyContext, EditContext, EditOutcome, Editor, WeightDelta } from '../editor';
import { decoderOnly } from '../../models/editable';
import { LOCATE_THEN_EDIT_ON_SEQ2SEQ } from '../rome/method';
import { throwIfCancelled } from '../editor';
import { norm } from '../linalg';
import { computeKeys, templatedPrompts, type TemplatedPrompt } from '../rome/compute-key';
import { computeValues } from '../rome/compute-value';
import type { RomeHparams } from '../rome/hparams';
import { MemitHparams, memitDefaults } from './hparams';
import { adjustedKeys } from './update';

/**
 * MEMIT (Meng et al. 2023, "Mass-Editing Memory in a Transformer"; kmeng01/memit memit_main.py):
 *   1. z_i = h_i^L + δ_i at the last edited layer L, δ_i from ROME's value optimisation there;
 *   2. for l in layers: K (template-averaged keys, current weights), R = (z − h^L) / (L − l + 1),
 *      ΔW_l = R Kᵀ (λ C_l + K Kᵀ)⁻¹, applied before the next layer.
 * All requests go in one batch; each layer's delta has rank ≤ batch. The model is restored before
 * returning.
 */
export const memit: Editor<typeof MemitHparams> = {
  name: 'MEMIT',
  hparams: MemitHparams,
  defaults: (lm) => memitDefaults(decoderOnly(lm, 'MEMIT', LOCATE_THEN_EDIT_ON_SEQ2SEQ)),
  batchable: true,
  needs: { secondMoments: true, contextTemplates: true, trainedEditor: false },
  async apply(given: EditContext, requests: readonly EditRequest[], hp: MemitHparams): Promise<EditOutcome> {
    const lm = decoderOnly(given.lm, 'MEMIT', LOCATE_THEN_EDIT_ON_SEQ2SEQ);
    const ctx: DecoderOnlyContext = { ...given, lm };
    const { spec } = lm.network;
    if (!requests.length) return { deltas: [], stats: {} };
    for (const l of hp.layers) if (l >= spec.layers) throw new Error(`MEMIT: layer ${l} does not exist (the model has ${spec.layers})`);
    for (let i = 1; i < hp.layers.length; i++) if (hp.layers[i]! <= hp.layers[i - 1]!) throw new Error(`MEMIT: layers must increase, got [${hp.layers}]`);
    const zLayer = hp.layers[hp.layers.length - 1]!;
    const templates = hp.useContextTemplates ? ctx.templates.get() : ['{}'];
    const prompts = requests.map((r) => templatedPrompts(lm, r, templates, hp.factToken));
    // every template list starts with the bare prompt "{}" (ContextTemplates.get), so reuse it
    const bare = prompts.map((p) => p[0]!);
    const stats: Record<string, number> = {};

    // Step 1: target residuals z_i = h_i^L + δ_i (h at the bare prompt's fact token, unedited model).
    const romeLike: RomeHparams = { ...hp, layer: zLayer, keyContexts: 'templates' };
    const initial = residualAt(lm, bare, zLayer);
    ctx.onProgress?.({ type: 'stage', stage: 'value', detail: `optimising z at layer ${zLayer} for ${requests.length} request(s), jointly` });
    const values = await computeValues(ctx, requests.map((request, i) => ({ index: i, request, prompts: prompts[i]! })), romeLike, zLayer);
    const targets = values.map((value, i) => {
      stats[`request${i}.nll`] = value.nll;
      stats[`request${i}.steps`] = value.steps;
      return Float64Array.from(initial[i]!, (h, t) => h + value.value[t]! - value.initial[t]!);
    });

    // Step 2: spread the change over the layers, lowest first, each on the model with the earlier applied.
    const deltas: WeightDelta[] = [];
    const original = snapshot(lm.network, hp.layers.map((l) => lm.network.mlpOutWeight(l).name));
    try {
      for (const [position, layer] of hp.layers.entries()) {
        throwIfCancelled(ctx.signal);
        ctx.onProgress?.({ type: 'stage', stage: 'update', detail: `layer ${layer}: rank-${requests.length} update` });
        const keys = computeKeys(lm, prompts, layer); // K: n keys [F], many requests per forward
        const current = residualAt(lm, bare, zLayer);
        const share = hp.layers.length - position; // L − l + 1 for a contiguous range
        const residuals = targets.map((z, i) => Float32Array.from(z, (v, t) => (v - current[i]![t]!) / share)); // R: n × [H]
        const factor = await ctx.stats.factor(layer);
        const adj = adjustedKeys(factor, spec.mlpHidden, keys, hp.mom2UpdateWeight); // n × [F]
        const delta = lowRank(lm, layer, residuals, adj);
        addDelta(lm.network, delta);
        deltas.push(delta);
        stats[`layer${layer}.residualNorm`] = residuals.reduce((s, r) => s + norm(r), 0) / residuals.length;
      }
    } finally {
      original.restore();
    }
    return { deltas, stats };
  },
};

/** ΔW = R adjᵀ as a rank-n delta in the stored layout: [H, F] (Linear) or [F, H] (GPT-2's Conv1D). */
function lowRank(lm: LanguageModel, layer: number, residuals: Float32Array[], adj: Float64Array[]): WeightDelta {
  const { hidden, mlpHidden } = lm.network.spec;
  const n = residuals.length;
  const { name, transposed } = lm.network.mlpOutWeight(layer);
  const r = new Float32Array(hidden * n); // [H, n]
  const a = new Float32Array(mlpHidden * n); // [F, n]
  for (let j = 0; j < n; j++) {
    for (let o = 0; o < hidden; o++) r[o * n + j] = residuals[j]![o]!;
    for (let i = 0; i < mlpHidden; i++) a[i * n + j] = adj[j]![i]!;
  }
  return transposed
    ? { param: name, kind: 'lowRank', rows: mlpHidden, cols: hidden, rank: n, left: a, right: r }
    : { param: name, kind: 'lowRank', rows: hidden, cols: mlpHidden, rank: n, left: r, right: a };
}

/** The residual stream after `layer` at each prompt's fact token (one batch, host arrays [H]). */
function residualAt(lm: LanguageModel, prompts: readonly TemplatedPrompt[], layer: number): Float32Array[] {
  const engine = lm.engine;
  const { hidden } = lm.network.spec;
  const width = Math.max(...prompts.map((p) => p.ids.length));
  const values = engine.noGrad(() => engine.tidy(() => lm.runToLayer(prompts.map((p) => p.ids), layer, new Hooks()).residual.valuesSync()));
  return prompts.map((p, b) => values.slice((b * width + p.factIndex) * hidden, (b * width + p.factIndex + 1) * hidden) as Float32Array);
}
