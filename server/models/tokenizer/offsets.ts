/**
 * Character offsets for encoded tokens. The JS tokenizer library returns ids and token strings
 * but no offsets, so we recover them here.
 *
 * Approach: every token is turned back into the exact bytes of text it stands for (its
 * "surface": byte-level BPE maps each vocab character to one byte; SentencePiece pieces map
 * "▁" to a space and "<0xNN>" to byte NN). The surfaces are then matched left to right against
 * the UTF-8 bytes of the input. Working in bytes, not decoded strings, keeps a token that holds
 * only part of a multibyte character (byte-level BPE splits "日" or an emoji into several
 * tokens) exact: its byte span is known, and it is widened to the whole character when
 * converted to UTF-16 offsets, so neighbours that share a character overlap on it (as the Rust
 * `tokenizers` crate reports them).
 *
 * Tolerated differences between surfaces and text, each one a thing tokenizers do:
 * - a leading space that the tokenizer inserted (Metaspace / SentencePiece prefix space,
 *   ByteLevel add_prefix_space) and that the text does not have;
 * - whitespace in the text that no token covers (lstrip/rstrip added tokens, WordPiece);
 * - special tokens the post-processor adds (BOS, EOS) get an empty span where they stand;
 * - unknown tokens (unk) take the text up to where the next token matches, less surrounding whitespace.
 * Anything else (a lower-casing or accent-stripping normalizer) is an error, never a guess.
 */
import { TokenizerError } from './errors';

/** [start, end) in UTF-16 code units of the input string, like String.prototype.slice. */
export type Offset = [start: number, end: number];

/** What one token stands for in the text, as the aligner needs it. */
export type Piece =
  /** A vocabulary token: the bytes it reproduces. */
  | { kind: 'text'; bytes: Uint8Array }
  /** An added token (e.g. "<|im_start|>"), matched by content; a special one may be absent from the text. */
  | { kind: 'added'; bytes: Uint8Array; special: boolean }
  /** A token whose text cannot be known (unk). */
  | { kind: 'unknown' };

const textEncoder = new TextEncoder();

/** UTF-8 bytes of `text` and, per byte, the UTF-16 span of the character that byte belongs to. */
interface Layout {
  bytes: Uint8Array;
  /** charStart[k]: UTF-16 index where the character holding byte k starts; charStart[n] = text.length. */
  charStart: Int32Array;
  /** charEnd[k]: UTF-16 index just after the character holding byte k. */
  charEnd: Int32Array;
}

function layout(text: string): Layout {
  // TextEncoder writes a lone surrogate as U+FFFD (3 bytes); the loop below counts it as 3 too.
  const bytes = textEncoder.encode(text);
  const charStart = new Int32Array(bytes.length + 1);
  const charEnd = new Int32Array(bytes.length);
  let k = 0;
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    const units = cp > 0xffff ? 2 : 1;
    const nBytes = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (let j = 0; j < nBytes; j++, k++) {
      charStart[k] = i;
      charEnd[k] = i + units;
    }
    i += units;
  }
  if (k !== bytes.length) throw new Error(`offsets: UTF-8 layout counted ${k} bytes, encoder wrote ${bytes.length}`);
  charStart[bytes.length] = text.length;
  return { bytes, charStart, charEnd };
}

function isAsciiSpace(b: number | undefined): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0b || b === 0x0c || b === 0x0d;
}

function matchesAt(text: Uint8Array, at: number, piece: Uint8Array, from = 0): boolean {
  if (at + piece.length - from > text.length) return false;
  for (let j = from; j < piece.length; j++) {
    if (text[at + j - from] !== piece[j]) return false;
  }
  return true;
}

/** Byte span of `piece` placed at `at`, dropping an inserted leading space when the text lacks it. */
function placeAt(text: Uint8Array, at: number, piece: Uint8Array): [number, number] | undefined {
  if (matchesAt(text, at, piece)) return [at, at + piece.length];
  if (piece[0] === 0x20 && matchesAt(text, at, piece, 1)) return [at, at + piece.length - 1];
  return undefined;
}

/** Like placeAt, also skipping whitespace in the text that no token covers. */
function placeNear(text: Uint8Array, at: number, piece: Uint8Array): [number, number] | undefined {
  const here = placeAt(text, at, piece);
  if (here) return here;
  let q = at;
  while (q < text.length && isAsciiSpace(text[q])) q++;
  return q > at ? placeAt(text, q, piece) : undefined;
}

/** First placement of `piece` at or after `at`, for the token after one or more unknown tokens. */
function placeAfter(text: Uint8Array, at: number, piece: Uint8Array): [number, number] | undefined {
  for (let q = at; q <= text.length; q++) {
    const span = placeAt(text, q, piece);
    if (span) return span;
  }
  return undefined;
}

/**
 * Aligns token pieces with `text` and returns one offset per piece.
 * `describe(i)` names token i in error messages (index, id and vocab string).
 */
export function alignOffsets(text: string, pieces: readonly Piece[], describe: (i: number) => string): Offset[] {
  const { bytes, charStart, charEnd } = layout(text);
  const byteSpans: [number, number][] = [];
  let p = 0;
  let pending: number[] = []; // unknown tokens waiting for the next match to know where they end

  const fail = (i: number): never => {
    const c = charStart[p]!;
    throw new TokenizerError(
      `cannot align ${describe(i)} with the text at character ${c} (${JSON.stringify(text.slice(c, c + 12))}): ` +
        'offsets need a tokenizer that reproduces its input (no lower-casing or accent-stripping normalizer)',
    );
  };
  const settlePending = (end: number) => {
    // The unknown text, less whitespace around it that the pre-tokenizer would have split off.
    let start = p;
    while (start < end && isAsciiSpace(bytes[start])) start++;
    while (end > start && isAsciiSpace(bytes[end - 1])) end--;
    for (const j of pending) byteSpans[j] = [start, end];
    pending = [];
  };

  pieces.forEach((piece, i) => {
    if (piece.kind === 'unknown') {
      pending.push(i);
      return;
    }
    if (piece.bytes.length === 0) {
      byteSpans[i] = [p, p];
      return;
    }
    const span = pending.length > 0 ? placeAfter(bytes, p, piece.bytes) : placeNear(bytes, p, piece.bytes);
    if (span) {
      settlePending(span[0]);
      byteSpans[i] = span;
      p = span[1];
    } else if (piece.kind === 'added' && piece.special) {
      byteSpans[i] = [p, p]; // added by the post-processor (BOS/EOS): stands between characters
    } else {
      fail(i);
    }
  });
  settlePending(bytes.length);

  return byteSpans.map(([start, end]): Offset => {
    if (end === start) return [charStart[start]!, charStart[start]!];
    // A token holding part of a character covers the whole character.
    return [charStart[start]!, charEnd[end - 1]!];
  });
}
