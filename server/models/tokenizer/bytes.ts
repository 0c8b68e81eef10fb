/**
 * GPT-2's reversible byte <-> printable character map, used by every byte-level BPE vocabulary
 * (GPT-2, GPT-J, NeoX, SmolLM2): byte b is written as one printable code point so that vocab
 * entries are plain strings ("Ġ" = 0x20, "Ċ" = 0x0A).
 * Source: `bytes_to_unicode` in openai/gpt-2 src/encoder.py.
 */
function buildByteToChar(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b); // '!'..'~'
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b); // '¡'..'¬'
  for (let b = 0xae; b <= 0xff; b++) printable.push(b); // '®'..'ÿ'
  const byteToChar = new Array<string>(256);
  for (const b of printable) byteToChar[b] = String.fromCodePoint(b);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    if (byteToChar[b] === undefined) byteToChar[b] = String.fromCodePoint(256 + next++);
  }
  return byteToChar;
}

/** BYTE_TO_CHAR[b] is the vocabulary character standing for byte b. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** Inverse of BYTE_TO_CHAR. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

/**
 * The bytes a byte-level vocabulary entry stands for, or undefined when some character of it is
 * not in the byte alphabet (an added token such as "<|im_start|>" is matched by content instead).
 */
export function byteLevelTokenBytes(token: string): Uint8Array | undefined {
  const out: number[] = [];
  for (const ch of token) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b === undefined) return undefined;
    out.push(b);
  }
  return Uint8Array.from(out);
}
