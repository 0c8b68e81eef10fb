/**
 * Tokenizer: a thin wrapper over @huggingface/tokenizers (pure JS; reads Hugging Face
 * `tokenizer.json` + `tokenizer_config.json`) that adds what Locus needs on top:
 * character offsets per token (./offsets.ts) and `findSubjectTokens`, the subject-token lookup
 * ROME, MEMIT and causal tracing index into hidden states with.
 */
import { stat, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { z } from 'zod';
import { byteLevelTokenBytes } from './bytes';
import { TokenizerError } from './errors';
import { alignOffsets, type Offset, type Piece } from './offsets';

export { TokenizerError } from './errors';
export type { Offset } from './offsets';

export interface Encoding {
  ids: number[];
  /** Per token, [start, end) in UTF-16 code units of the input; [p, p] for a BOS/EOS the tokenizer added. */
  offsets: Offset[];
}

export interface EncodeOptions {
  /** Let the post-processor add BOS/EOS etc. Default true, as in Hugging Face `tokenizer(text)`. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  skipSpecialTokens?: boolean;
}

/** Token index range of a subject in an encoded prompt: [start, end), and last = end - 1. */
export interface SubjectTokens {
  start: number;
  end: number;
  last: number;
}

export interface FindSubjectOptions extends EncodeOptions {
  /**
   * Which occurrence of the subject to use when it appears more than once. Default 'first':
   * ROME fills the subject into a template's single "{}" and takes the tokens there; in a
   * filled-in CounterFact/zsRE prompt that is the first occurrence. Pass `at` when you know it.
   */
  occurrence?: 'first' | 'last';
  /** Character index of the subject in the prompt (e.g. where a template's "{}" was filled). */
  at?: number;
}

/** Model types @huggingface/tokenizers implements. HF's WordLevel is not among them. */
const SUPPORTED_MODEL_TYPES = ['BPE', 'WordPiece', 'Unigram'] as const;

const componentSchema = z.looseObject({ type: z.string() }).nullable().optional();

const tokenizerJsonSchema = z.looseObject({
  added_tokens: z
    .array(z.looseObject({ id: z.number().int().nonnegative(), content: z.string(), special: z.boolean().optional() }))
    .optional(),
  normalizer: componentSchema,
  pre_tokenizer: componentSchema,
  post_processor: componentSchema,
  decoder: componentSchema,
  model: z.looseObject({ type: z.string().optional() }),
});

const vocabRecord = z.record(z.string(), z.number().int().nonnegative());
const modelSchemas: Record<(typeof SUPPORTED_MODEL_TYPES)[number], z.ZodType> = {
  BPE: z.looseObject({
    vocab: vocabRecord,
    merges: z.array(z.union([z.string().regex(/. ./, 'a merge string must be "left right"'), z.tuple([z.string(), z.string()])])),
    unk_token: z.string().nullable().optional(),
    byte_fallback: z.boolean().optional(),
  }),
  WordPiece: z.looseObject({ vocab: vocabRecord, unk_token: z.string().optional() }),
  Unigram: z.looseObject({ vocab: z.array(z.tuple([z.string(), z.number()])), unk_id: z.number().int().nullable().optional() }),
};

/** tokenizer_config.json names its special tokens as strings or as AddedToken objects. */
const specialTokenSchema = z.union([z.string(), z.looseObject({ content: z.string() })]).nullable().optional();
const tokenizerConfigSchema = z.looseObject({
  bos_token: specialTokenSchema,
  eos_token: specialTokenSchema,
  pad_token: specialTokenSchema,
  unk_token: specialTokenSchema,
  clean_up_tokenization_spaces: z.boolean().optional(),
});
type TokenizerConfig = z.infer<typeof tokenizerConfigSchema>;
type TokenizerJson = z.infer<typeof tokenizerJsonSchema>;

function formatIssue(source: string, error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return `${source} is malformed`;
  const where = issue.path.length > 0 ? issue.path.join('.') : '(root)';
  return `${source} is malformed at ${where}: ${issue.message}`;
}

/** True when a pipeline component (or a Sequence inside it) has one of these types. */
function hasComponent(component: unknown, types: readonly string[]): boolean {
  if (!component || typeof component !== 'object') return false;
  const c = component as { type?: unknown; decoders?: unknown; pretokenizers?: unknown; normalizers?: unknown };
  if (typeof c.type === 'string' && types.includes(c.type)) return true;
  for (const list of [c.decoders, c.pretokenizers, c.normalizers]) {
    if (Array.isArray(list) && list.some((x) => hasComponent(x, types))) return true;
  }
  return false;
}

/** True when a component's config mentions SentencePiece's word marker "▁" (U+2581). */
function mentionsMetaspace(component: unknown): boolean {
  return component !== null && component !== undefined && JSON.stringify(component).includes('\u2581');
}

function specialTokenContent(token: TokenizerConfig['bos_token']): string | undefined {
  if (token === null || token === undefined) return undefined;
  return typeof token === 'string' ? token : token.content;
}

const BYTE_FALLBACK_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;
const textEncoder = new TextEncoder();

export class Tokenizer {
  /** Number of token ids: the model vocabulary plus added tokens (max id + 1). */
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly padId: number | undefined;
  readonly unkId: number | undefined;

  /** The unk id the model itself emits (BPE/WordPiece unk_token, Unigram unk_id), for alignment. */
  private readonly modelUnkId: number | undefined;
  private readonly addedById: Map<number, { content: string; special: boolean }>;
  private readonly surfaceMode: 'byte-level' | 'text';
  private readonly metaspace: boolean;
  private readonly byteFallback: boolean;
  /** Affixes that mark word pieces in the vocabulary but are not text ("##", "</w>"). */
  private readonly pieceAffixes: { prefix?: string; suffix?: string };
  private readonly cleanUpSpaces: boolean;

  private constructor(
    private readonly hf: HfTokenizer,
    json: TokenizerJson,
    config: TokenizerConfig,
  ) {
    this.vocabSize = hf.model?.vocab.length ?? 0;
    const idOf = (token: TokenizerConfig['bos_token']) => {
      const content = specialTokenContent(token);
      return content === undefined ? undefined : hf.token_to_id(content);
    };
    this.bosId = idOf(config.bos_token);
    this.eosId = idOf(config.eos_token);
    this.padId = idOf(config.pad_token);
    this.modelUnkId = hf.model?.unk_token_id;
    this.unkId = this.modelUnkId ?? idOf(config.unk_token);
    this.addedById = new Map(
      (json.added_tokens ?? []).map((t) => [t.id, { content: t.content, special: t.special ?? false }]),
    );
    this.surfaceMode = hasComponent(json.decoder, ['ByteLevel']) || hasComponent(json.pre_tokenizer, ['ByteLevel'])
      ? 'byte-level'
      : 'text';
    this.metaspace = [json.normalizer, json.pre_tokenizer, json.decoder].some(mentionsMetaspace);
    const model = json.model as { byte_fallback?: boolean; continuing_subword_prefix?: string | null; end_of_word_suffix?: string | null };
    this.byteFallback = model.byte_fallback === true;
    this.pieceAffixes = {
      prefix: json.model.type === 'WordPiece' ? (model.continuing_subword_prefix ?? '##') : (model.continuing_subword_prefix ?? undefined),
      suffix: model.end_of_word_suffix ?? undefined,
    };
    // Off unless the config asks: Hugging Face's clean-up ("a ." -> "a.") breaks decode(encode(x)) == x.
    this.cleanUpSpaces = config.clean_up_tokenization_spaces ?? false;
  }

  /** Builds a tokenizer from parsed `tokenizer.json` (and optionally `tokenizer_config.json`) objects. */
  static fromJSON(tokenizerJson: object, tokenizerConfig: object = {}, source = 'tokenizer.json'): Tokenizer {
    const parsed = tokenizerJsonSchema.safeParse(tokenizerJson);
    if (!parsed.success) throw new TokenizerError(formatIssue(source, parsed.error));
    const json = parsed.data;
    const type = json.model.type;
    if (type === undefined) {
      throw new TokenizerError(`${source}: model.type is missing (expected one of ${SUPPORTED_MODEL_TYPES.join(', ')})`);
    }
    if (!(SUPPORTED_MODEL_TYPES as readonly string[]).includes(type)) {
      throw new TokenizerError(
        `${source}: unknown model type '${type}' (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`,
      );
    }
    const modelCheck = modelSchemas[type as (typeof SUPPORTED_MODEL_TYPES)[number]].safeParse(json.model);
    if (!modelCheck.success) {
      const issue = modelCheck.error.issues[0];
      const where = ['model', ...(issue?.path ?? [])].join('.');
      throw new TokenizerError(`${source} is malformed at ${where}: ${issue?.message ?? 'invalid'}`);
    }
    const configParsed = tokenizerConfigSchema.safeParse(tokenizerConfig);
    if (!configParsed.success) throw new TokenizerError(formatIssue('tokenizer_config.json', configParsed.error));

    // The library wants every pipeline key present (null when absent) and an added_tokens array.
    const complete = {
      ...json,
      normalizer: json.normalizer ?? null,
      pre_tokenizer: json.pre_tokenizer ?? null,
      post_processor: json.post_processor ?? null,
      decoder: json.decoder ?? null,
      added_tokens: json.added_tokens ?? [],
    };
    let hf: HfTokenizer;
    try {
      hf = new HfTokenizer(complete, configParsed.data);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new TokenizerError(`${source}: ${reason}`, { cause: error });
    }
    return new Tokenizer(hf, complete, configParsed.data);
  }

  /**
   * Loads `tokenizer.json` (a file path, or a directory holding one) and the
   * `tokenizer_config.json` beside it when there is one.
   */
  static async fromFile(file: string): Promise<Tokenizer> {
    let tokenizerPath = file;
    try {
      if ((await stat(file)).isDirectory()) tokenizerPath = path.join(file, 'tokenizer.json');
    } catch (error) {
      throw new TokenizerError(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
    }
    const tokenizerJson = await readJson(tokenizerPath);
    if (tokenizerJson === undefined) throw new TokenizerError(`${tokenizerPath} does not exist`);
    const configPath = path.join(path.dirname(tokenizerPath), 'tokenizer_config.json');
    const config = (await readJson(configPath)) ?? {};
    return Tokenizer.fromJSON(tokenizerJson, config, tokenizerPath);
  }

  /** Token ids and per-token character offsets of `text`. */
  encode(text: string, { addSpecialTokens = true }: EncodeOptions = {}): Encoding {
    const { ids } = this.hf.encode(text, { add_special_tokens: addSpecialTokens });
    ids.forEach((id, i) => {
      if (typeof id !== 'number') {
        throw new TokenizerError(`token ${i} of ${JSON.stringify(text.slice(0, 40))} has no id (no unk token in the vocabulary)`);
      }
    });
    const pieces = ids.map((id) => this.piece(id));
    const offsets = alignOffsets(text, pieces, (i) => `token ${i} (id ${ids[i]}, ${JSON.stringify(this.idToToken(ids[i]!))})`);
    return { ids, offsets };
  }

  decode(ids: readonly number[], { skipSpecialTokens = false }: DecodeOptions = {}): string {
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new TokenizerError(`decode: id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
      }
    }
    if (ids.length === 0) return ''; // the library rejects an empty list
    return this.hf.decode([...ids], {
      skip_special_tokens: skipSpecialTokens,
      clean_up_tokenization_spaces: this.cleanUpSpaces,
    });
  }

  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }

  /**
   * Token index range of `subject` inside `prompt` as `encode(prompt)` tokenises it.
   * Works from character offsets, never by tokenising the subject alone: BPE tokenises
   * " Danielle" (after a space, as in the prompt) differently from "Danielle".
   * A token belongs to the subject when its span overlaps the subject's characters, so `last`
   * is the token holding the subject's last character (ROME's "last subject token").
   */
  findSubjectTokens(prompt: string, subject: string, options: FindSubjectOptions = {}): SubjectTokens {
    if (subject.length === 0) throw new TokenizerError('findSubjectTokens: the subject is empty');
    const at = options.at ?? (options.occurrence === 'last' ? prompt.lastIndexOf(subject) : prompt.indexOf(subject));
    if (at < 0 || !prompt.startsWith(subject, at)) {
      const where = options.at === undefined ? '' : ` at character ${options.at}`;
      throw new TokenizerError(
        `findSubjectTokens: subject ${JSON.stringify(subject)} not found${where} in prompt ${JSON.stringify(prompt)}`,
      );
    }
    const subjectEnd = at + subject.length;
    const { offsets } = this.encode(prompt, { addSpecialTokens: options.addSpecialTokens });
    let start = -1;
    let end = -1;
    offsets.forEach(([s, e], i) => {
      if (e > s && s < subjectEnd && e > at) {
        if (start < 0) start = i;
        end = i + 1;
      }
    });
    if (start < 0) {
      throw new TokenizerError(`findSubjectTokens: no token covers ${JSON.stringify(subject)} in ${JSON.stringify(prompt)}`);
    }
    return { start, end, last: end - 1 };
  }

  /** What token `id` stands for in the text, for offset alignment. */
  private piece(id: number): Piece {
    const added = this.addedById.get(id);
    if (added) {
      if (id === this.modelUnkId) return { kind: 'unknown' };
      return { kind: 'added', bytes: textEncoder.encode(added.content), special: added.special };
    }
    if (id === this.modelUnkId) return { kind: 'unknown' };
    const token = this.hf.id_to_token(id) ?? '';
    if (this.surfaceMode === 'byte-level') {
      const bytes = byteLevelTokenBytes(token);
      if (bytes) return { kind: 'text', bytes };
    }
    if (this.byteFallback) {
      const byte = BYTE_FALLBACK_TOKEN.exec(token);
      if (byte) return { kind: 'text', bytes: Uint8Array.of(parseInt(byte[1]!, 16)) };
    }
    let text = token;
    const { prefix, suffix } = this.pieceAffixes;
    if (prefix && text.startsWith(prefix) && text.length > prefix.length) text = text.slice(prefix.length);
    if (suffix && text.endsWith(suffix)) text = text.slice(0, -suffix.length);
    if (this.metaspace) text = text.replaceAll('\u2581', ' ');
    return { kind: 'text', bytes: textEncoder.encode(text) };
  }
}

/** Parsed JSON of `file`, or undefined when it does not exist. */
async function readJson(file: string): Promise<object | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TokenizerError(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TokenizerError(`${file} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TokenizerError(`${file} must hold a JSON object`);
  }
  return value;
}
