import { describe, expect, it } from 'vitest';
import { CpuBackend, Engine } from '../engine';
import { LanguageModel, type TextTokenizer } from './lm';
import { tinyGpt2 } from './testing/tiny-gpt2';

/** Ten named ids (one per digit) for a network whose embedding has 16 rows. */
const DIGITS: TextTokenizer = {
  vocabSize: 10,
  encode: (text) => ({ ids: [...text].map((c) => Number(c) % 10), offsets: [...text].map((_, i): [number, number] => [i, i + 1]) }),
  decode: (ids) => {
    for (const id of ids) if (id >= 10) throw new Error(`decode: id ${id} is outside the vocabulary [0, 10)`);
    return ids.join('');
  },
  findSubjectTokens: () => {
    throw new Error('not needed here');
  },
};

describe('a model with more embedding rows than its tokenizer has tokens', () => {
  it('predicts and generates only ids the tokenizer can name', async () => {
    const lm = new LanguageModel(await tinyGpt2(new Engine(new CpuBackend())), DIGITS);
    const [top] = lm.topK(['123'], 16);
    expect(top!.length).toBe(10);
    expect(Math.max(...top!.map((t) => t.id))).toBeLessThan(10);
    // sampling over many seeds reaches the whole distribution: it would hit ids 10-15 (and decode would throw) if they were candidates
    for (let seed = 0; seed < 20; seed++) expect(lm.generate(['12'], { maxNewTokens: 8, temperature: 2, seed, stopAtEos: false })[0]).toMatch(/^\d{8}$/);
  });
});
