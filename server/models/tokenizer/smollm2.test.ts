import { gguf } from '@huggingface/gguf';
import { beforeAll, describe, expect, it } from 'vitest';
import { smollm2Path } from '../registry';
import { tokenizerFromGguf, tokenizerJsonFromGguf } from './gguf';
import type { Tokenizer } from './index';

const ggufPath = smollm2Path();

/**
 * Known-correct SmolLM2 ids. Verified while writing this test by two independent
 * implementations reading the same GGUF: llama.cpp's tokenizer (llama-cpp-python 0.3.36,
 * vocab_only, special=True) on the file itself, and the Rust `tokenizers` 0.23 crate on the
 * tokenizer.json that tokenizerJsonFromGguf builds (also with HF's own Digits pre-tokenizer in
 * place of our Split on \p{N}). All three agreed on these strings and on 400 random ones,
 * ids and offsets alike.
 */
const EXPECTED_IDS: [string, number[]][] = [
  ['The capital of France is', [504, 3575, 282, 4649, 314]],
  ['The mother tongue of Danielle Darrieux is', [504, 3379, 10663, 282, 10789, 290, 9117, 3153, 4808, 314]],
  ['In 1969, 12345 people paid $3.50 each.', [788, 216, 33, 41, 38, 41, 28, 216, 33, 34, 35, 36, 37, 701, 5940, 1885, 35, 30, 37, 32, 971, 30]],
  ['café résumé naïve é', [83, 1939, 2756, 412, 2756, 5422, 2756, 15486, 46494, 26411]],
  ['日本語のテキスト 日本', [23274, 115, 40993, 179, 120, 248, 26453, 11100, 224, 10391, 251, 10391, 134, 11100, 226, 17097, 241, 115, 40993]],
  ['emoji 😀👍🏽', [391, 33777, 40303, 218, 10813, 235, 231, 10813, 233, 138]],
  ['  leading spaces', [216, 2899, 5600]],
  ['line one\nline two\n\n  indented\ttab', [1311, 582, 198, 1311, 827, 8866, 641, 6574, 197, 15999]],
  ['²³ ½ ٣٤ ①', [19133, 39050, 216, 16738, 216, 164, 113, 164, 114, 216, 173, 235, 250]],
  ['<|im_start|>user\nHi<|im_end|>\n', [1, 4093, 198, 26843, 2, 198]],
];

const PARAGRAPH = `Danielle Darrieux (1 May 1917 – 17 October 2017) was a French actress of stage, television
and film, as well as a singer and dancer. She appeared in more than 110 films — "Le Bal" (1931),
"Mayerling" & «Madame de…» — and won 2 awards; naïve café-owners in Zürich paid €3.50 (≈ $4).
  Indented line\twith a tab,\r\nWindows line ending, 日本語, 한국어, emoji 😀👍🏽🇫🇷 and 👨‍👩‍👧.   `;

describe.skipIf(!ggufPath)('SmolLM2-135M tokenizer from GGUF metadata (run `npm run models:smollm2` to enable)', () => {
  let tok: Tokenizer;
  let metadata: Record<string, unknown>;
  beforeAll(async () => {
    // Only the header is read: @huggingface/gguf parses metadata without loading tensors.
    metadata = { ...(await gguf(ggufPath!, { allowLocalFile: true })).metadata };
    tok = tokenizerFromGguf(metadata);
  });

  it('uses the smollm pre-tokenizer: digits split one by one, then GPT-2 byte-level', () => {
    expect(metadata['tokenizer.ggml.pre']).toBe('smollm');
    const json = tokenizerJsonFromGguf(metadata) as { pre_tokenizer: { pretokenizers: { type: string }[] } };
    expect(json.pre_tokenizer.pretokenizers.map((p) => p.type)).toEqual(['Split', 'ByteLevel']);
  });

  it('has 49152 tokens and the instruct model special ids', () => {
    expect(tok.vocabSize).toBe(49152);
    expect(tok.idToToken(0)).toBe('<|endoftext|>');
    expect([tok.bosId, tok.eosId, tok.padId]).toEqual([1, 2, 2]);
    expect(tok.idToToken(1)).toBe('<|im_start|>');
  });

  it.each(EXPECTED_IDS)('encodes %j to the ids llama.cpp and HF tokenizers give', (text, ids) => {
    expect(tok.encode(text).ids).toEqual(ids);
    expect(tok.decode(ids)).toBe(text);
  });

  it('keeps " Paris" a single token, unlike "Paris"', () => {
    expect(tok.encode(' Paris').ids).toEqual([7042]);
    expect(tok.idToToken(7042)).toBe('ĠParis');
  });

  it('round-trips a paragraph exactly, offsets tiling the text', () => {
    const { ids, offsets } = tok.encode(PARAGRAPH);
    expect(tok.decode(ids)).toBe(PARAGRAPH);
    // No gaps, never backwards; offsets overlap only where byte tokens share a multibyte character.
    let end = 0;
    for (const [s, e] of offsets) {
      expect(s).toBeLessThanOrEqual(end);
      expect(e).toBeGreaterThanOrEqual(end);
      if (s < end) expect(PARAGRAPH.codePointAt(s)!).toBeGreaterThan(0x7f);
      end = e;
    }
    expect(end).toBe(PARAGRAPH.length);
  });

  it('finds the subject tokens of a CounterFact prompt', () => {
    const prompt = 'The mother tongue of Danielle Darrieux is';
    const found = tok.findSubjectTokens(prompt, 'Danielle Darrieux');
    expect(found).toEqual({ start: 4, end: 9, last: 8 }); // " Daniel" "le" " Dar" "rie" "ux"
    const { offsets } = tok.encode(prompt);
    expect(prompt.slice(offsets[found.start]![0], offsets[found.last]![1])).toBe(' Danielle Darrieux');
  });

  it('skips chat special tokens on request', () => {
    const ids = tok.encode('<|im_start|>user\nHi<|im_end|>\n').ids;
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('user\nHi\n');
  });
});
