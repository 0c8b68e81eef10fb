/**
 * A Hugging Face `tokenizer.json` (+ `tokenizer_config.json`) rebuilt from a GGUF file's
 * `tokenizer.ggml.*` metadata, so GGUF models tokenize through the same Tokenizer as
 * safetensors checkpoints.
 *
 * Sources: llama.cpp `src/llama-vocab.cpp` (how each `tokenizer.ggml.pre` splits text; token
 * types) and `gguf-py/gguf/constants.py`; transformers `convert_slow_tokenizer.py`
 * (`generate_merges`, `LlamaConverter`) for the SentencePiece layout.
 */
import { z } from 'zod';
import { TokenizerError } from './errors';
import { Tokenizer } from './index';

/** llama.cpp `llama_token_type` values stored in `tokenizer.ggml.token_type`. */
export const GgufTokenType = {
  normal: 1,
  unknown: 2,
  control: 3,
  userDefined: 4,
  unused: 5,
  byte: 6,
} as const;

/** A ByteLevel pre-tokenizer that also applies GPT-2's split regex (as GPT-2's tokenizer.json has it). */
const byteLevelGpt2 = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
/** A ByteLevel pre-tokenizer after an explicit Split (Llama 3, Qwen2): bytes only, no second regex. */
const byteLevelOnly = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false };
const isolate = (regex: string) => ({ type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false });

/**
 * Pre-tokenizer per `tokenizer.ggml.pre`, mirroring the regex lists in llama.cpp's
 * `llm_tokenizer_bpe` constructor. Names not listed are refused rather than guessed: a wrong
 * split regex yields plausible but wrong ids.
 */
const BPE_PRE_TOKENIZERS: Record<string, object> = {
  // GPT-2's regex alone.
  'gpt-2': byteLevelGpt2,
  mpt: byteLevelGpt2,
  olmo: byteLevelGpt2,
  jais: byteLevelGpt2,
  // Every digit on its own ("\p{N}"), then GPT-2's regex. This is SmolLM/SmolLM2's tokenizer
  // (StarCoder's): HF's tokenizer.json writes the first step as Digits(individual_digits),
  // which Rust implements with char::is_numeric (= \p{N}); @huggingface/tokenizers' Digits uses
  // JS \d (ASCII only), so we write it as a Split on \p{N} to stay exact on "²" or "٣".
  smollm: { type: 'Sequence', pretokenizers: [isolate('\\p{N}'), byteLevelGpt2] },
  starcoder: { type: 'Sequence', pretokenizers: [isolate('\\p{N}'), byteLevelGpt2] },
  refact: { type: 'Sequence', pretokenizers: [isolate('\\p{N}'), byteLevelGpt2] },
  'command-r': { type: 'Sequence', pretokenizers: [isolate('\\p{N}'), byteLevelGpt2] },
  codeshell: { type: 'Sequence', pretokenizers: [isolate('\\p{N}'), byteLevelGpt2] },
  // Llama 3: the regex of its tokenizer.json (llama.cpp spells (?i:...) out per letter).
  'llama-bpe': {
    type: 'Sequence',
    pretokenizers: [
      isolate(
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
      ),
      byteLevelOnly,
    ],
  },
  qwen2: {
    type: 'Sequence',
    pretokenizers: [
      isolate(
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
      ),
      byteLevelOnly,
    ],
  },
};
BPE_PRE_TOKENIZERS['llama3'] = BPE_PRE_TOKENIZERS['llama-bpe']!;
BPE_PRE_TOKENIZERS['llama-v3'] = BPE_PRE_TOKENIZERS['llama-bpe']!;

const id = z.union([z.number(), z.bigint()]).transform(Number).pipe(z.number().int().nonnegative());

const ggufTokenizerSchema = z.object({
  'tokenizer.ggml.model': z.string(),
  'tokenizer.ggml.pre': z.string().optional(),
  'tokenizer.ggml.tokens': z.array(z.string()).min(1),
  'tokenizer.ggml.token_type': z.array(z.number().int()).optional(),
  'tokenizer.ggml.scores': z.array(z.number()).optional(),
  'tokenizer.ggml.merges': z.array(z.string()).optional(),
  'tokenizer.ggml.bos_token_id': id.optional(),
  'tokenizer.ggml.eos_token_id': id.optional(),
  'tokenizer.ggml.unknown_token_id': id.optional(),
  'tokenizer.ggml.padding_token_id': id.optional(),
  'tokenizer.ggml.add_bos_token': z.boolean().optional(),
  'tokenizer.ggml.add_eos_token': z.boolean().optional(),
  'tokenizer.ggml.add_space_prefix': z.boolean().optional(),
  'tokenizer.chat_template': z.string().optional(),
});
type GgufTokenizerMetadata = z.infer<typeof ggufTokenizerSchema>;

function parseMetadata(metadata: object): GgufTokenizerMetadata {
  const parsed = ggufTokenizerSchema.safeParse(metadata);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue?.path[0] === undefined ? '' : String(issue.path[0]);
    throw new TokenizerError(`GGUF metadata ${key ? `key ${key}` : ''} is missing or malformed: ${issue?.message ?? ''}`.trim());
  }
  const m = parsed.data;
  const n = m['tokenizer.ggml.tokens'].length;
  for (const key of ['tokenizer.ggml.token_type', 'tokenizer.ggml.scores'] as const) {
    const values = m[key];
    if (values && values.length !== n) {
      throw new TokenizerError(`GGUF metadata ${key} has ${values.length} entries for ${n} tokens`);
    }
  }
  for (const key of [
    'tokenizer.ggml.bos_token_id',
    'tokenizer.ggml.eos_token_id',
    'tokenizer.ggml.unknown_token_id',
    'tokenizer.ggml.padding_token_id',
  ] as const) {
    const value = m[key];
    if (value !== undefined && value >= n) {
      throw new TokenizerError(`GGUF metadata ${key} = ${value} is outside the ${n}-token vocabulary`);
    }
  }
  return m;
}

interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** Control and unknown tokens become special added tokens, user-defined ones plain added tokens. */
function addedTokens(m: GgufTokenizerMetadata): AddedTokenJson[] {
  const types = m['tokenizer.ggml.token_type'];
  if (!types) return [];
  const added: AddedTokenJson[] = [];
  m['tokenizer.ggml.tokens'].forEach((content, i) => {
    const type = types[i];
    if (type !== GgufTokenType.control && type !== GgufTokenType.unknown && type !== GgufTokenType.userDefined) return;
    added.push({
      id: i,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: type !== GgufTokenType.userDefined,
    });
  });
  return added;
}

function vocabRecord(tokens: readonly string[]): Record<string, number> {
  const vocab: Record<string, number> = {};
  tokens.forEach((token, i) => {
    // A GGUF vocabulary may repeat a string (unused slots); the first id wins, as in llama.cpp.
    if (!Object.hasOwn(vocab, token)) vocab[token] = i;
  });
  return vocab;
}

/** TemplateProcessing that adds BOS/EOS when the GGUF asks for them, else `fallback`. */
function postProcessor(m: GgufTokenizerMetadata, addBos: boolean, addEos: boolean, fallback: object | null): object | null {
  const tokens = m['tokenizer.ggml.tokens'];
  const special = (key: 'tokenizer.ggml.bos_token_id' | 'tokenizer.ggml.eos_token_id', what: string) => {
    const tokenId = m[key];
    if (tokenId === undefined) throw new TokenizerError(`GGUF metadata asks to add ${what} but has no ${key}`);
    return { content: tokens[tokenId]!, id: tokenId };
  };
  const bos = addBos ? special('tokenizer.ggml.bos_token_id', 'BOS') : undefined;
  const eos = addEos ? special('tokenizer.ggml.eos_token_id', 'EOS') : undefined;
  if (!bos && !eos) return fallback;
  const single: object[] = [];
  const pair: object[] = [];
  const specialTokens: Record<string, object> = {};
  if (bos) {
    single.push({ SpecialToken: { id: bos.content, type_id: 0 } });
    pair.push({ SpecialToken: { id: bos.content, type_id: 0 } });
    specialTokens[bos.content] = { id: bos.content, ids: [bos.id], tokens: [bos.content] };
  }
  single.push({ Sequence: { id: 'A', type_id: 0 } });
  pair.push({ Sequence: { id: 'A', type_id: 0 } });
  if (eos) {
    single.push({ SpecialToken: { id: eos.content, type_id: 0 } });
    pair.push({ SpecialToken: { id: eos.content, type_id: 0 } });
  }
  if (bos) pair.push({ SpecialToken: { id: bos.content, type_id: 1 } });
  pair.push({ Sequence: { id: 'B', type_id: 1 } });
  if (eos) {
    pair.push({ SpecialToken: { id: eos.content, type_id: 1 } });
    specialTokens[eos.content] = { id: eos.content, ids: [eos.id], tokens: [eos.content] };
  }
  return { type: 'TemplateProcessing', single, pair, special_tokens: specialTokens };
}

/** tokenizer.ggml.model = 'gpt2': byte-level BPE with explicit merges (GPT-2, SmolLM2, Llama 3, Qwen2). */
function byteLevelBpe(m: GgufTokenizerMetadata): object {
  const pre = m['tokenizer.ggml.pre'] ?? 'gpt-2';
  const preTokenizer = BPE_PRE_TOKENIZERS[pre];
  if (!preTokenizer) {
    throw new TokenizerError(
      `GGUF pre-tokenizer '${pre}' not supported yet (supported: ${Object.keys(BPE_PRE_TOKENIZERS).join(', ')})`,
    );
  }
  const mergeStrings = m['tokenizer.ggml.merges'];
  if (!mergeStrings) throw new TokenizerError("GGUF metadata lacks tokenizer.ggml.merges, required by tokenizer model 'gpt2'");
  const merges = mergeStrings.map((merge, i): [string, string] => {
    // Byte-level tokens never contain a raw space (it is "Ġ"), so the first space separates the pair.
    const space = merge.indexOf(' ', 1);
    if (space < 0) throw new TokenizerError(`GGUF tokenizer.ggml.merges[${i}] = ${JSON.stringify(merge)} is not "left right"`);
    return [merge.slice(0, space), merge.slice(space + 1)];
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(m),
    normalizer: null,
    pre_tokenizer: preTokenizer,
    post_processor: postProcessor(m, m['tokenizer.ggml.add_bos_token'] ?? false, m['tokenizer.ggml.add_eos_token'] ?? false, {
      type: 'ByteLevel',
      add_prefix_space: false,
      trim_offsets: false,
      use_regex: true,
    }),
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null, // byte-level BPE covers every byte: no token is unknown
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: vocabRecord(m['tokenizer.ggml.tokens']),
      merges,
    },
  };
}

/**
 * BPE merges implied by SentencePiece scores: every split of a piece into two vocabulary pieces,
 * ranked by the piece's score (higher first), then by the longer left and right parts.
 * Port of transformers `generate_merges`; SentencePiece BPE merges the best-scoring pair.
 */
function mergesFromScores(tokens: readonly string[], scores: readonly number[], vocab: Record<string, number>): [string, string][] {
  const merges: { left: string; right: string; score: number; leftLen: number; rightLen: number }[] = [];
  tokens.forEach((piece, i) => {
    if (vocab[piece] !== i) return; // a repeated string: its first id speaks for it
    const chars = Array.from(piece); // split at code points, as Python slicing does
    const local: (typeof merges)[number][] = [];
    for (let k = 1; k < chars.length; k++) {
      const left = chars.slice(0, k).join('');
      const right = chars.slice(k).join('');
      if (Object.hasOwn(vocab, left) && Object.hasOwn(vocab, right)) {
        local.push({ left, right, score: scores[i]!, leftLen: k, rightLen: chars.length - k });
      }
    }
    local.sort((a, b) => vocab[a.left]! - vocab[b.left]! || vocab[a.right]! - vocab[b.right]!);
    merges.push(...local);
  });
  // Stable sort, descending by (score, len(left), len(right)) as Python's sorted(..., reverse=True).
  merges.sort((a, b) => b.score - a.score || b.leftLen - a.leftLen || b.rightLen - a.rightLen);
  return merges.map((x) => [x.left, x.right]);
}

/** tokenizer.ggml.model = 'llama': SentencePiece BPE with byte fallback (Llama 1/2, Mistral v0.1). */
function sentencePieceBpe(m: GgufTokenizerMetadata): object {
  const tokens = m['tokenizer.ggml.tokens'];
  const scores = m['tokenizer.ggml.scores'];
  if (!scores) throw new TokenizerError("GGUF metadata lacks tokenizer.ggml.scores, required by tokenizer model 'llama'");
  const vocab = vocabRecord(tokens);
  const addSpacePrefix = m['tokenizer.ggml.add_space_prefix'] ?? true;
  const unkId = m['tokenizer.ggml.unknown_token_id'];
  const replaceSpaces = { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(m),
    normalizer: addSpacePrefix
      ? { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '\u2581' }, replaceSpaces] }
      : replaceSpaces,
    pre_tokenizer: null,
    // llama.cpp adds BOS by default for SentencePiece vocabularies.
    post_processor: postProcessor(m, m['tokenizer.ggml.add_bos_token'] ?? true, m['tokenizer.ggml.add_eos_token'] ?? false, null),
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '\u2581' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        ...(addSpacePrefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : []),
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: unkId === undefined ? null : tokens[unkId],
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges: mergesFromScores(tokens, scores, vocab),
    },
  };
}

/** A standard `tokenizer.json` object built from GGUF metadata (`tokenizer.ggml.*`). */
export function tokenizerJsonFromGguf(metadata: object): object {
  return tokenizerJson(parseMetadata(metadata));
}

function tokenizerJson(m: GgufTokenizerMetadata): object {
  const model = m['tokenizer.ggml.model'];
  switch (model) {
    case 'gpt2':
      return byteLevelBpe(m);
    case 'llama':
      return sentencePieceBpe(m);
    default:
      throw new TokenizerError(`GGUF tokenizer model '${model}' not supported yet (supported: gpt2, llama)`);
  }
}

/** The `tokenizer_config.json` fields GGUF metadata carries: special tokens and the chat template. */
export function tokenizerConfigFromGguf(metadata: object): Record<string, unknown> {
  return tokenizerConfig(parseMetadata(metadata));
}

function tokenizerConfig(m: GgufTokenizerMetadata): Record<string, unknown> {
  const tokens = m['tokenizer.ggml.tokens'];
  const content = (tokenId: number | undefined) => (tokenId === undefined ? null : tokens[tokenId]);
  const isSentencePiece = m['tokenizer.ggml.model'] === 'llama';
  return {
    bos_token: content(m['tokenizer.ggml.bos_token_id']),
    eos_token: content(m['tokenizer.ggml.eos_token_id']),
    unk_token: content(m['tokenizer.ggml.unknown_token_id']),
    pad_token: content(m['tokenizer.ggml.padding_token_id']),
    add_bos_token: m['tokenizer.ggml.add_bos_token'] ?? isSentencePiece,
    add_eos_token: m['tokenizer.ggml.add_eos_token'] ?? false,
    clean_up_tokenization_spaces: false,
    ...(m['tokenizer.chat_template'] === undefined ? {} : { chat_template: m['tokenizer.chat_template'] }),
  };
}

/** The Tokenizer of a GGUF file, from its metadata. */
export function tokenizerFromGguf(metadata: object): Tokenizer {
  const m = parseMetadata(metadata);
  return Tokenizer.fromJSON(tokenizerJson(m), tokenizerConfig(m), 'GGUF tokenizer metadata');
}
