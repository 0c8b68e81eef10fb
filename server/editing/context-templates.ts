import { decoderOnly, type EditableLM } from '../models/editable';

/**
 * ROME's context templates: the bare prompt "{}" plus short texts sampled from the model itself,
 * each followed by ". {}", so the key and value of an edit are averaged over contexts the model
 * finds natural (Meng et al. 2022, §3.1; MEMIT uses 10 texts of 5 tokens and 10 of 10).
 * Sampled once per model with a fixed seed and kept on this object, never in module state.
 */
export class ContextTemplates {
  private cached: string[] | null = null;

  constructor(
    private readonly lm: EditableLM,
    private readonly lengths: readonly (readonly [tokens: number, count: number])[] = [
      [5, 10],
      [10, 10],
    ],
    private readonly seed = 0,
  ) {}

  get(): string[] {
    if (!this.cached) {
      const starts = ['The', 'Therefore', 'Because', 'I', 'You'];
      const templates = ['{}'];
      for (const [tokens, count] of this.lengths) {
        const prompts = Array.from({ length: count }, (_, i) => starts[i % starts.length]!);
        const lm = decoderOnly(this.lm, 'context templates', 'they are sampled (temperature 1, top-5) from the model continuing short openings, which needs a decoder-only model; set useContextTemplates to false');
        const texts = lm.generate(prompts, { maxNewTokens: tokens, temperature: 1, topK: 5, seed: this.seed + tokens, stopAtEos: false });
        texts.forEach((t, i) => templates.push(`${prompts[i]}${t}`.replace(/[{}]/g, ' ').replace(/\s+/g, ' ').trim() + '. {}'));
      }
      this.cached = templates;
    }
    return this.cached;
  }
}
