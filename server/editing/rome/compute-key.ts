import { fillPrompt, type EditRequest } from '../../../lib/editing/request';
import { indexSelect, reshape } from '../../engine/ops';
import { captureInto, Hooks } from '../../models/hooks';
import type { LanguageModel } from '../../models/lm';

/** A prompt placed in context templates, with where its subject's last token falls. */
export interface TemplatedPrompt {
  text: string;
  ids: number[];
  /** Token index where the key is read and the value written (see RomeHparams.factToken). */
  factIndex: number;
}

export type FactToken = 'subject_last' | 'last';

/** The request's prompt inside each template ("{}" = the prompt), tokenised, subject located by
 * character offsets (never by re-tokenising the subject alone). */
export function templatedPrompts(lm: LanguageModel, request: EditRequest, templates: readonly string[], factToken: FactToken = 'subject_last'): TemplatedPrompt[] {
  const filled = fillPrompt(request);
  return templates.map((template) => {
    const at = template.indexOf('{}');
    const text = template.replace('{}', filled.text);
    const ids = lm.encode(text);
    const factIndex = factToken === 'last' ? ids.length - 1 : lm.tokenizer.findSubjectTokens(text, request.subject, { at: at + filled.subjectStart }).last;
    return { text, ids, factIndex };
  });
}

/**
 * k*: the MLP key (input of the down/out projection) at the fact token, averaged over
 * the templated prompts (ROME step 1; compute_u.py). The same averaged key is used in the update's
 * numerator and denominator (the r-ROME fix, Gupta et al. 2024).
 */
export function computeKey(lm: LanguageModel, prompts: readonly TemplatedPrompt[], layer: number): Float32Array {
  return computeKeys(lm, [prompts], layer)[0]!;
}

/** Padded tokens one forward of computeKeys may hold. */
const KEY_CHUNK_TOKENS = 4096;

/** k* for each request's prompts (MEMIT's K), the prompts of many requests in each forward. */
export function computeKeys(lm: LanguageModel, promptSets: readonly (readonly TemplatedPrompt[])[], layer: number): Float32Array[] {
  const engine = lm.engine;
  const f = lm.network.spec.mlpHidden;
  const all = promptSets.flatMap((prompts, set) => prompts.map((p) => ({ p, set })));
  const means = promptSets.map(() => new Float32Array(f));
  for (let start = 0; start < all.length; ) {
    // as many prompts as fit KEY_CHUNK_TOKENS padded to their longest (at least one)
    let end = start + 1;
    let width = all[start]!.p.ids.length;
    while (end < all.length && (end - start + 1) * Math.max(width, all[end]!.p.ids.length) <= KEY_CHUNK_TOKENS) width = Math.max(width, all[end++]!.p.ids.length);
    const chunk = all.slice(start, end);
    const keys = engine.noGrad(() =>
      engine.tidy(() => {
        const captured = new Map();
        lm.runToLayer(
          chunk.map(({ p }) => p.ids),
          layer,
          new Hooks().on('mlp_key', layer, captureInto(captured)),
        );
        const k = captured.get(`mlp_key.${layer}`)!;
        // only the fact tokens' rows leave the engine
        const rows = engine.tensor(Int32Array.from(chunk.map(({ p }, b) => b * width + p.factIndex)), [chunk.length], 'i32');
        const values = indexSelect(reshape(k, [-1, f]), 0, rows).valuesSync();
        k.dispose();
        return values;
      }),
    );
    chunk.forEach(({ set }, b) => {
      const mean = means[set]!;
      const count = promptSets[set]!.length;
      for (let i = 0; i < f; i++) mean[i]! += keys[b * f + i]! / count;
    });
    start = end;
  }
  return means;
}
