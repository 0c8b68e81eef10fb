import { describe, expect, it } from 'vitest';
import { byteLevelFixture, FIXTURE_WORDS, sentencePieceGgufFixture } from './fixtures';
import { tokenizerConfigFromGguf, tokenizerFromGguf, tokenizerJsonFromGguf } from './gguf';
import { TokenizerError } from './index';

/** GGUF metadata of a byte-level vocabulary: the byte-level fixture's vocab and merges, as llama.cpp stores them. */
function byteLevelGguf(pre = 'smollm'): Record<string, unknown> {
  const json = byteLevelFixture(FIXTURE_WORDS) as { model: { vocab: Record<string, number>; merges: [string, string][] } };
  const tokens: string[] = [];
  for (const [token, id] of Object.entries(json.model.vocab)) tokens[id] = token;
  return {
    'tokenizer.ggml.model': 'gpt2',
    'tokenizer.ggml.pre': pre,
    'tokenizer.ggml.tokens': tokens,
    'tokenizer.ggml.token_type': tokens.map((t) => (t.startsWith('<') && t.length > 1 ? 3 : 1)),
    'tokenizer.ggml.merges': json.model.merges.map(([l, r]) => `${l} ${r}`),
    'tokenizer.ggml.bos_token_id': tokens.indexOf('<s>'),
    'tokenizer.ggml.eos_token_id': tokens.indexOf('<|endoftext|>'),
    'tokenizer.ggml.add_bos_token': false,
  };
}

describe('tokenizerJsonFromGguf, byte-level BPE (tokenizer.ggml.model = gpt2)', () => {
  it('builds a tokenizer that splits digits one by one for the smollm pre-tokenizer', () => {
    const tok = tokenizerFromGguf(byteLevelGguf('smollm'));
    const text = 'The 1969 Paris';
    expect(tok.encode(text).offsets.map(([s, e]) => text.slice(s, e))).toEqual(['The', ' ', '1', '9', '6', '9', ' Paris']);
    expect(tok.decode(tok.encode(text).ids)).toBe(text);
  });

  it('keeps digit runs together for the gpt-2 pre-tokenizer', () => {
    const tok = tokenizerFromGguf(byteLevelGguf('gpt-2'));
    const json = tokenizerJsonFromGguf(byteLevelGguf('gpt-2')) as { pre_tokenizer: { type: string } };
    expect(json.pre_tokenizer.type).toBe('ByteLevel');
    expect(tok.encode('1969').ids).toHaveLength(4); // no merges for digits: one byte token each, one pre-token
  });

  it('marks control tokens as special added tokens and carries BOS/EOS into the config', () => {
    const metadata = byteLevelGguf();
    const json = tokenizerJsonFromGguf(metadata) as { added_tokens: { content: string; special: boolean }[] };
    expect(json.added_tokens.map((t) => [t.content, t.special])).toEqual([
      ['<|endoftext|>', true],
      ['<s>', true],
    ]);
    expect(tokenizerConfigFromGguf(metadata)).toMatchObject({ bos_token: '<s>', eos_token: '<|endoftext|>', add_bos_token: false });
    const tok = tokenizerFromGguf(metadata);
    expect(tok.bosId).toBe(tok.tokenToId('<s>'));
    expect(tok.encode('The').ids).toEqual([tok.tokenToId('The')]);
  });

  it('adds BOS when tokenizer.ggml.add_bos_token is true', () => {
    const tok = tokenizerFromGguf({ ...byteLevelGguf(), 'tokenizer.ggml.add_bos_token': true });
    expect(tok.encode('The').ids).toEqual([tok.bosId, tok.tokenToId('The')]);
    expect(tok.encode('The', { addSpecialTokens: false }).ids).toEqual([tok.tokenToId('The')]);
  });
});

describe('tokenizerJsonFromGguf, SentencePiece BPE (tokenizer.ggml.model = llama)', () => {
  // Expected ids verified two ways while writing this test: llama.cpp's own SentencePiece
  // tokenizer (llama-cpp-python 0.3.36, vocab_only) on a GGUF written from this same metadata
  // with gguf-py, and the Rust `tokenizers` 0.23 crate on the tokenizer.json built here; both
  // agreed with these ids, and with ours on 300 random strings.
  const tok = tokenizerFromGguf(sentencePieceGgufFixture());

  it('merges by piece score, prepends BOS and a word-boundary space', () => {
    const prompt = 'The mother tongue of Danielle Darrieux is';
    const { ids, offsets } = tok.encode(prompt);
    expect(ids).toEqual([1, 369, 455, 456, 336, 462, 463, 342]);
    expect(ids.map((id) => tok.idToToken(id))).toEqual([
      '<s>', '▁The', '▁mother', '▁tongue', '▁of', '▁Danielle', '▁Darrieux', '▁is',
    ]);
    // The first piece's "▁" was inserted by the tokenizer: its offset starts at the text's start.
    expect(offsets).toEqual([[0, 0], [0, 3], [3, 10], [10, 17], [17, 20], [20, 29], [29, 38], [38, 41]]);
    expect(tok.findSubjectTokens(prompt, 'Danielle Darrieux')).toEqual({ start: 5, end: 7, last: 6 });
  });

  it('falls back to byte tokens for characters outside the vocabulary', () => {
    const text = 'café 日本 😀';
    const { ids, offsets } = tok.encode(text);
    expect(ids).toEqual([1, 330, 270, 198, 172, 259, 233, 154, 168, 233, 159, 175, 259, 243, 162, 155, 131]);
    expect(ids.slice(3, 5).map((id) => tok.idToToken(id))).toEqual(['<0xC3>', '<0xA9>']);
    expect(offsets.slice(3, 5)).toEqual([[3, 4], [3, 4]]);
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe(text);
  });

  it('reads special ids from the metadata', () => {
    expect([tok.bosId, tok.eosId, tok.unkId, tok.padId]).toEqual([1, 2, 0, undefined]);
  });
});

describe('tokenizerJsonFromGguf errors', () => {
  const base = byteLevelGguf();
  it.each([
    ['an unsupported tokenizer model', { ...base, 'tokenizer.ggml.model': 't5' }, /GGUF tokenizer model 't5' not supported yet/],
    ['an unknown pre-tokenizer', { ...base, 'tokenizer.ggml.pre': 'deepseek-llm' }, /GGUF pre-tokenizer 'deepseek-llm' not supported yet/],
    ['missing merges', { ...base, 'tokenizer.ggml.merges': undefined }, /lacks tokenizer.ggml.merges/],
    ['missing tokens', { ...base, 'tokenizer.ggml.tokens': undefined }, /key tokenizer.ggml.tokens is missing or malformed/],
    ['token types of the wrong length', { ...base, 'tokenizer.ggml.token_type': [1, 1] }, /token_type has 2 entries/],
    ['a BOS id outside the vocabulary', { ...base, 'tokenizer.ggml.bos_token_id': 1_000_000 }, /bos_token_id = 1000000 is outside/],
    ['a merge without a space', { ...base, 'tokenizer.ggml.merges': ['ab'] }, /merges\[0\] = "ab" is not "left right"/],
    [
      'SentencePiece without scores',
      { ...sentencePieceGgufFixture(), 'tokenizer.ggml.scores': undefined },
      /lacks tokenizer.ggml.scores/,
    ],
  ])('rejects %s with a TokenizerError', (_, metadata, message) => {
    expect(() => tokenizerJsonFromGguf(metadata)).toThrow(TokenizerError);
    expect(() => tokenizerJsonFromGguf(metadata)).toThrow(message);
  });
});
