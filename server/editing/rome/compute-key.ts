import { fillPrompt, type EditRequest } from '../../../lib/editing/request';
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
  const engine = lm.engine;
  const width = Math.max(...prompts.map((p) => p.ids.length));
  const keys = engine.noGrad(() =>
    engine.tidy(() => {
      const captured = new Map();
      lm.runToLayer(
        prompts.map((p) => p.ids),
        layer,
        new Hooks().on('mlp_key', layer, captureInto(captured)),
      );
      const k = captured.get(`mlp_key.${layer}`)!;
      const values = k.valuesSync();
      k.dispose();
      return values;
    }),
  );
  const f = lm.network.spec.mlpHidden;
  const mean = new Float32Array(f);
  for (const [b, p] of prompts.entries()) {
    const row = (b * width + p.factIndex) * f;
    for (let i = 0; i < f; i++) mean[i]! += keys[row + i]! / prompts.length;
  }
  return mean;
}
