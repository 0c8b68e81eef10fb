/**
 * Tiny tokenizer.json objects built in code, for tests that must not depend on a model file.
 * Test-only: imported by *.test.ts.
 */
import { BYTE_TO_CHAR } from './bytes';

/**
 * A byte-level BPE tokenizer.json (GPT-2 layout): the 256 byte characters, then one merged token
 * per prefix of each word in `words` ("Ġ" = space), merged left to right. With `bos` the
 * post-processor prepends "<s>", as Llama's does.
 */
export function byteLevelFixture(words: readonly string[], { bos = false } = {}): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  BYTE_TO_CHAR.forEach((c, b) => (vocab[c] = b));
  const merges: [string, string][] = [];
  for (const word of words) {
    const chars = Array.from(word);
    let left = chars[0]!;
    for (const right of chars.slice(1)) {
      const merged = left + right;
      if (!Object.hasOwn(vocab, merged)) {
        merges.push([left, right]);
        vocab[merged] = Object.keys(vocab).length;
      }
      left = merged;
    }
  }
  const next = Object.keys(vocab).length;
  const specials = ['<|endoftext|>', '<s>'];
  specials.forEach((s, i) => (vocab[s] = next + i));
  return {
    version: '1.0',
    added_tokens: specials.map((content, i) => ({
      id: next + i,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: bos
      ? {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
          pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
          special_tokens: { '<s>': { id: '<s>', ids: [next + 1], tokens: ['<s>'] } },
        }
      : { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, byte_fallback: false, vocab, merges },
  };
}

/** Words of the fixture: enough merges to give multi-character tokens around a CounterFact subject. */
export const FIXTURE_WORDS = ['The', 'Ġmother', 'Ġtongue', 'Ġof', 'ĠDan', 'ielle', 'ĠDarr', 'ieux', 'Ġis', 'ĠParis', 'Ġin', 'ĠFrance'];

/**
 * GGUF tokenizer metadata of a tiny SentencePiece-BPE vocabulary (tokenizer.ggml.model =
 * 'llama'): <unk> <s> </s>, the 256 byte-fallback tokens, the characters of `SPM_WORDS`, then
 * every longer substring of them, each later piece scoring lower (a later merge). The score
 * order is what SentencePiece BPE merges by.
 */
export function sentencePieceGgufFixture(): Record<string, unknown> {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [2, 3, 3];
  const scores = [0, 0, 0];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6);
    scores.push(0);
  }
  const seen = new Set(tokens);
  const add = (piece: string, score: number) => {
    if (seen.has(piece)) return;
    seen.add(piece);
    tokens.push(piece);
    types.push(1);
    scores.push(score);
  };
  const words = SPM_WORDS.map((w) => Array.from(w));
  for (const chars of words) for (const c of chars) add(c, -1000);
  const longest = Math.max(...words.map((w) => w.length));
  let rank = 0;
  for (let len = 2; len <= longest; len++) {
    for (const chars of words) {
      for (let i = 0; i + len <= chars.length; i++) add(chars.slice(i, i + len).join(''), -++rank);
    }
  }
  return {
    'tokenizer.ggml.model': 'llama',
    'tokenizer.ggml.tokens': tokens,
    'tokenizer.ggml.scores': scores,
    'tokenizer.ggml.token_type': types,
    'tokenizer.ggml.bos_token_id': 1,
    'tokenizer.ggml.eos_token_id': 2,
    'tokenizer.ggml.unknown_token_id': 0,
    'tokenizer.ggml.add_bos_token': true,
  };
}

export const SPM_WORDS = ['▁The', '▁the', '▁capital', '▁of', '▁France', '▁is', '▁Paris', '▁Danielle', '▁Darrieux', '▁mother', '▁tongue'];
