import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byteLevelFixture, FIXTURE_WORDS } from './fixtures';
import { Tokenizer, TokenizerError } from './index';

const PROMPT = 'The mother tongue of Danielle Darrieux is';
const SUBJECT = 'Danielle Darrieux';

function pieces(tok: Tokenizer, text: string, addSpecialTokens = true): string[] {
  return tok.encode(text, { addSpecialTokens }).offsets.map(([s, e]) => text.slice(s, e));
}

describe('Tokenizer on a byte-level BPE fixture', () => {
  const tok = Tokenizer.fromJSON(byteLevelFixture(FIXTURE_WORDS));
  const withBos = Tokenizer.fromJSON(byteLevelFixture(FIXTURE_WORDS, { bos: true }), { bos_token: '<s>' });

  it('splits a CounterFact prompt into the merged tokens, offsets covering each one', () => {
    const { ids, offsets } = tok.encode(PROMPT);
    expect(ids.map((id) => tok.idToToken(id))).toEqual([
      'The', 'Ġmother', 'Ġtongue', 'Ġof', 'ĠDan', 'ielle', 'ĠDarr', 'ieux', 'Ġis',
    ]);
    expect(offsets).toEqual([[0, 3], [3, 10], [10, 17], [17, 20], [20, 24], [24, 29], [29, 34], [34, 38], [38, 41]]);
  });

  it('finds the subject tokens from character offsets: the last one ends where the subject ends', () => {
    const found = tok.findSubjectTokens(PROMPT, SUBJECT);
    expect(found).toEqual({ start: 4, end: 8, last: 7 });
    const { offsets } = tok.encode(PROMPT);
    expect(offsets[found.last]![1]).toBe(PROMPT.indexOf(SUBJECT) + SUBJECT.length);
  });

  it('differs from tokenising the subject alone, which loses the leading-space token', () => {
    const alone = tok.encode(SUBJECT).ids.map((id) => tok.idToToken(id));
    expect(alone[0]).not.toBe('ĠDan');
    const inPrompt = tok.encode(PROMPT).ids.slice(4, 8).map((id) => tok.idToToken(id));
    expect(inPrompt).toEqual(['ĠDan', 'ielle', 'ĠDarr', 'ieux']);
  });

  it('takes the token holding the subject end as last when the subject ends inside a token', () => {
    expect(tok.findSubjectTokens(PROMPT, 'Danielle Dar')).toEqual({ start: 4, end: 7, last: 6 });
  });

  it('uses the first occurrence unless told otherwise', () => {
    const prompt = 'Paris is in France. Paris is';
    expect(tok.findSubjectTokens(prompt, 'Paris')).toEqual({ start: 0, end: 5, last: 4 }); // no merges: P a r i s
    const last = tok.findSubjectTokens(prompt, 'Paris', { occurrence: 'last' });
    const second = prompt.lastIndexOf('Paris');
    expect(pieces(tok, prompt).slice(last.start, last.end).join('')).toBe(' Paris');
    expect(tok.findSubjectTokens(prompt, 'Paris', { at: second })).toEqual(last);
  });

  it('counts a BOS the post-processor adds: empty offset, subject indices shift by one', () => {
    const { ids, offsets } = withBos.encode(PROMPT);
    expect(ids[0]).toBe(withBos.bosId);
    expect(offsets[0]).toEqual([0, 0]);
    expect(withBos.findSubjectTokens(PROMPT, SUBJECT)).toEqual({ start: 5, end: 9, last: 8 });
    expect(withBos.findSubjectTokens(PROMPT, SUBJECT, { addSpecialTokens: false })).toEqual({ start: 4, end: 8, last: 7 });
  });

  it('gives each byte token of a split multibyte character that whole character', () => {
    const text = 'é 日😀';
    // No merges cover these characters, so every byte is its own token.
    expect(tok.encode(text).offsets).toEqual([
      [0, 1], [0, 1], // é = C3 A9
      [1, 2], [2, 3], [2, 3], [2, 3], // " 日": the space, then 日 = E6 97 A5
      [3, 5], [3, 5], [3, 5], [3, 5], // 😀 = F0 9F 98 80, two UTF-16 units
    ]);
    expect(tok.findSubjectTokens(text, '日')).toEqual({ start: 3, end: 6, last: 5 });
  });

  it('matches added tokens that appear in the text by content', () => {
    const text = 'The<|endoftext|> is';
    expect(pieces(tok, text)).toEqual(['The', '<|endoftext|>', ' is']);
  });

  it('decodes back to the exact input, and can skip special tokens', () => {
    for (const text of [PROMPT, 'a  b\n\n c ', 'naïve 日本 😀', 'x . y , z']) {
      expect(tok.decode(tok.encode(text).ids)).toBe(text);
    }
    const ids = withBos.encode(PROMPT).ids;
    expect(withBos.decode(ids)).toBe(`<s>${PROMPT}`);
    expect(withBos.decode(ids, { skipSpecialTokens: true })).toBe(PROMPT);
    expect(tok.decode([])).toBe('');
  });

  it('rejects ids outside the vocabulary when decoding', () => {
    expect(() => tok.decode([tok.vocabSize])).toThrow(/outside the vocabulary/);
  });

  it('maps tokens and ids both ways and reports special ids from the config', () => {
    expect(tok.tokenToId('ĠDarr')).toBe(tok.encode(PROMPT).ids[6]);
    expect(tok.idToToken(tok.tokenToId('ieux')!)).toBe('ieux');
    expect(tok.tokenToId('not-a-token')).toBeUndefined();
    expect(tok.vocabSize).toBe(tok.tokenToId('<s>')! + 1);
    expect(tok.bosId).toBeUndefined();
    expect(withBos.bosId).toBe(withBos.tokenToId('<s>'));
  });

  it('throws TokenizerError when the subject is not in the prompt', () => {
    expect(() => tok.findSubjectTokens(PROMPT, 'Marie Curie')).toThrow(TokenizerError);
    expect(() => tok.findSubjectTokens(PROMPT, 'Marie Curie')).toThrow(/"Marie Curie" not found in prompt/);
    expect(() => tok.findSubjectTokens(PROMPT, SUBJECT, { at: 0 })).toThrow(/not found at character 0/);
    expect(() => tok.findSubjectTokens(PROMPT, '')).toThrow(/subject is empty/);
  });
});

describe('offsets for other tokenizer kinds', () => {
  it('gives an unknown token the text up to the next token', () => {
    const tok = Tokenizer.fromJSON({
      added_tokens: [{ id: 0, content: '<unk>', special: true }],
      pre_tokenizer: { type: 'WhitespaceSplit' },
      model: { type: 'WordPiece', unk_token: '<unk>', continuing_subword_prefix: '##', vocab: { '<unk>': 0, ab: 1, '##c': 2, d: 3 } },
      decoder: { type: 'WordPiece', prefix: '##', cleanup: false },
    });
    const text = 'abc ?? d';
    const { ids, offsets } = tok.encode(text);
    expect(ids).toEqual([1, 2, 0, 3]);
    expect(offsets.map(([s, e]) => text.slice(s, e))).toEqual(['ab', 'c', '??', 'd']);
  });

  it('refuses, rather than guesses, when a normalizer rewrote the text', () => {
    const tok = Tokenizer.fromJSON({
      normalizer: { type: 'Lowercase' },
      pre_tokenizer: { type: 'WhitespaceSplit' },
      model: { type: 'WordPiece', unk_token: '[UNK]', vocab: { '[UNK]': 0, paris: 1 } },
    });
    expect(tok.encode('paris').ids).toEqual([1]);
    expect(() => tok.encode('Paris')).toThrow(/cannot align token 0 .*"paris".* at character 0/);
  });
});

describe('malformed tokenizer.json', () => {
  const valid = byteLevelFixture(['Ġa']);
  const model = valid.model as Record<string, unknown>;

  it.each([
    ['an array', [], /malformed at \(root\)/],
    ['no model', { ...valid, model: undefined }, /malformed at model/],
    ['no model type', { ...valid, model: { ...model, type: undefined } }, /model.type is missing/],
    ['an unknown model type', { ...valid, model: { ...model, type: 'WordLevel' } }, /unknown model type 'WordLevel'/],
    ['a vocab that is a list', { ...valid, model: { ...model, vocab: ['a'] } }, /malformed at model.vocab/],
    ['merges without a pair', { ...valid, model: { ...model, merges: ['ab'] } }, /malformed at model.merges.0/],
    ['added tokens without ids', { ...valid, added_tokens: [{ content: '<s>' }] }, /malformed at added_tokens.0.id/],
    ['an unknown pre-tokenizer', { ...valid, pre_tokenizer: { type: 'Nonsense' } }, /Nonsense/],
  ])('rejects %s with a TokenizerError', (_, json, message) => {
    expect(() => Tokenizer.fromJSON(json as object)).toThrow(TokenizerError);
    expect(() => Tokenizer.fromJSON(json as object)).toThrow(message);
  });

  it('rejects a tokenizer_config.json whose special tokens are not strings', () => {
    expect(() => Tokenizer.fromJSON(valid, { bos_token: 1 })).toThrow(/tokenizer_config.json is malformed at bos_token/);
  });
});

describe('Tokenizer.fromFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'locus-tokenizer-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads tokenizer.json and the tokenizer_config.json beside it, from a file or its folder', async () => {
    const folder = path.join(dir, 'ok');
    await mkdir(folder);
    await writeFile(path.join(folder, 'tokenizer.json'), JSON.stringify(byteLevelFixture(FIXTURE_WORDS)));
    await writeFile(path.join(folder, 'tokenizer_config.json'), JSON.stringify({ eos_token: { content: '<|endoftext|>' } }));
    for (const where of [folder, path.join(folder, 'tokenizer.json')]) {
      const tok = await Tokenizer.fromFile(where);
      expect(tok.eosId).toBe(tok.tokenToId('<|endoftext|>'));
      expect(tok.findSubjectTokens(PROMPT, SUBJECT).last).toBe(7);
    }
  });

  it('names the file when it is missing or not JSON', async () => {
    await expect(Tokenizer.fromFile(path.join(dir, 'absent.json'))).rejects.toThrow(/cannot read .*absent.json/);
    const broken = path.join(dir, 'broken.json');
    await writeFile(broken, '{"model": ');
    await expect(Tokenizer.fromFile(broken)).rejects.toThrow(/broken.json is not valid JSON/);
    const wrongType = path.join(dir, 'wrong.json');
    await writeFile(wrongType, JSON.stringify({ model: { type: 'WordLevel', vocab: {} } }));
    await expect(Tokenizer.fromFile(wrongType)).rejects.toThrow(/wrong.json: unknown model type 'WordLevel'/);
  });
});
