/**
 * GGML tensor types and their dequantisation to float32.
 *
 * Block layouts follow ggml (ggml/src/ggml-common.h for the structs, ggml-quants.c
 * dequantize_row_* for the arithmetic); the numpy port in the `gguf` Python package
 * (gguf-py/gguf/quants.py) is the oracle our fixtures were made with. Each decoder computes in
 * float32 exactly as that port does (every product or sum rounded to float32 with Math.fround),
 * so results are bit-identical, not merely close: float64 arithmetic followed by a float32
 * rounding is exact for one +, - or x of float32 operands (53 >= 2*24 + 2).
 *
 * Typed arrays here use the host byte order; the readers reject big-endian hosts.
 */
import { bf16ToF32, f16BitsToF32, f16ToF32 } from '../../engine/dtype';

/** Elements per block and bytes per block for every type ggml defines (gguf-py GGML_QUANT_SIZES). */
export const GGML_TYPES = {
  F32: { id: 0, blockSize: 1, typeSize: 4 },
  F16: { id: 1, blockSize: 1, typeSize: 2 },
  Q4_0: { id: 2, blockSize: 32, typeSize: 18 },
  Q4_1: { id: 3, blockSize: 32, typeSize: 20 },
  Q5_0: { id: 6, blockSize: 32, typeSize: 22 },
  Q5_1: { id: 7, blockSize: 32, typeSize: 24 },
  Q8_0: { id: 8, blockSize: 32, typeSize: 34 },
  Q8_1: { id: 9, blockSize: 32, typeSize: 40 },
  Q2_K: { id: 10, blockSize: 256, typeSize: 84 },
  Q3_K: { id: 11, blockSize: 256, typeSize: 110 },
  Q4_K: { id: 12, blockSize: 256, typeSize: 144 },
  Q5_K: { id: 13, blockSize: 256, typeSize: 176 },
  Q6_K: { id: 14, blockSize: 256, typeSize: 210 },
  Q8_K: { id: 15, blockSize: 256, typeSize: 292 },
  IQ2_XXS: { id: 16, blockSize: 256, typeSize: 66 },
  IQ2_XS: { id: 17, blockSize: 256, typeSize: 74 },
  IQ3_XXS: { id: 18, blockSize: 256, typeSize: 98 },
  IQ1_S: { id: 19, blockSize: 256, typeSize: 50 },
  IQ4_NL: { id: 20, blockSize: 32, typeSize: 18 },
  IQ3_S: { id: 21, blockSize: 256, typeSize: 110 },
  IQ2_S: { id: 22, blockSize: 256, typeSize: 82 },
  IQ4_XS: { id: 23, blockSize: 256, typeSize: 136 },
  I8: { id: 24, blockSize: 1, typeSize: 1 },
  I16: { id: 25, blockSize: 1, typeSize: 2 },
  I32: { id: 26, blockSize: 1, typeSize: 4 },
  I64: { id: 27, blockSize: 1, typeSize: 8 },
  F64: { id: 28, blockSize: 1, typeSize: 8 },
  IQ1_M: { id: 29, blockSize: 256, typeSize: 56 },
  BF16: { id: 30, blockSize: 1, typeSize: 2 },
  TQ1_0: { id: 34, blockSize: 256, typeSize: 54 },
  TQ2_0: { id: 35, blockSize: 256, typeSize: 66 },
  MXFP4: { id: 39, blockSize: 32, typeSize: 17 },
  NVFP4: { id: 40, blockSize: 64, typeSize: 36 },
  Q1_0: { id: 41, blockSize: 128, typeSize: 18 },
} as const satisfies Record<string, { id: number; blockSize: number; typeSize: number }>;

export type GgmlTypeName = keyof typeof GGML_TYPES;

export interface GgmlTypeInfo {
  name: GgmlTypeName;
  id: number;
  blockSize: number;
  typeSize: number;
}

const TYPES_BY_ID: ReadonlyMap<number, GgmlTypeInfo> = new Map(
  (Object.keys(GGML_TYPES) as GgmlTypeName[]).map((name) => [GGML_TYPES[name].id, { name, ...GGML_TYPES[name] }]),
);

/** The type with this numeric id (as stored in a GGUF tensor info), or undefined if unknown. */
export function ggmlType(id: number): GgmlTypeInfo | undefined {
  return TYPES_BY_ID.get(id);
}

/** Decodes one block at `src[srcOffset]` into `blockSize` floats at `dst[dstOffset]`. */
type BlockDecoder = (src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number) => void;

/** Whole-element types, converted without a block loop. */
const FLOAT_TYPES = ['F32', 'F16', 'BF16'] as const;
type FloatTypeName = (typeof FLOAT_TYPES)[number];

const fround = Math.fround;

/** IEEE half bits (little-endian at src[offset]) to its value; exact in float32. */
function readHalf(src: Uint8Array, offset: number): number {
  return f16BitsToF32((src[offset] ?? 0) | ((src[offset + 1] ?? 0) << 8));
}

/** The half/bf16 conversions are the engine's (server/engine/dtype.ts), re-exported for format code. */
export { bf16ToF32, f16BitsToF32 as halfToFloat, f16ToF32 };

function byte(src: Uint8Array, offset: number): number {
  return src[offset] ?? 0;
}

// --- 32-element blocks ------------------------------------------------------------------------
// In all of them byte j of qs holds element j (low nibble) and element j + 16 (high nibble).

/** block_q4_0 { f16 d; u8 qs[16] }: x = (q - 8) * d. */
const decodeQ4_0: BlockDecoder = (src, o, dst, k) => {
  const d = readHalf(src, o);
  for (let j = 0; j < 16; j++) {
    const b = byte(src, o + 2 + j);
    dst[k + j] = ((b & 0x0f) - 8) * d;
    dst[k + j + 16] = ((b >> 4) - 8) * d;
  }
};

/** block_q4_1 { f16 d; f16 m; u8 qs[16] }: x = q * d + m. */
const decodeQ4_1: BlockDecoder = (src, o, dst, k) => {
  const d = readHalf(src, o);
  const m = readHalf(src, o + 2);
  for (let j = 0; j < 16; j++) {
    const b = byte(src, o + 4 + j);
    dst[k + j] = fround((b & 0x0f) * d) + m;
    dst[k + j + 16] = fround((b >> 4) * d) + m;
  }
};

/** Bit j of a little-endian u32 at src[o] is the fifth bit of element j (Q5_0, Q5_1). */
function readU32(src: Uint8Array, o: number): number {
  return (byte(src, o) | (byte(src, o + 1) << 8) | (byte(src, o + 2) << 16) | (byte(src, o + 3) << 24)) >>> 0;
}

/** block_q5_0 { f16 d; u8 qh[4]; u8 qs[16] }: x = (q - 16) * d, q = nibble | qh bit << 4. */
const decodeQ5_0: BlockDecoder = (src, o, dst, k) => {
  const d = readHalf(src, o);
  const qh = readU32(src, o + 2);
  for (let j = 0; j < 16; j++) {
    const b = byte(src, o + 6 + j);
    dst[k + j] = (((b & 0x0f) | (((qh >>> j) & 1) << 4)) - 16) * d;
    dst[k + j + 16] = (((b >> 4) | (((qh >>> (j + 16)) & 1) << 4)) - 16) * d;
  }
};

/** block_q5_1 { f16 d; f16 m; u8 qh[4]; u8 qs[16] }: x = q * d + m. */
const decodeQ5_1: BlockDecoder = (src, o, dst, k) => {
  const d = readHalf(src, o);
  const m = readHalf(src, o + 2);
  const qh = readU32(src, o + 4);
  for (let j = 0; j < 16; j++) {
    const b = byte(src, o + 8 + j);
    dst[k + j] = fround(((b & 0x0f) | (((qh >>> j) & 1) << 4)) * d) + m;
    dst[k + j + 16] = fround(((b >> 4) | (((qh >>> (j + 16)) & 1) << 4)) * d) + m;
  }
};

/** block_q8_0 { f16 d; i8 qs[32] }: x = q * d. */
const decodeQ8_0: BlockDecoder = (src, o, dst, k) => {
  const d = readHalf(src, o);
  for (let j = 0; j < 32; j++) dst[k + j] = ((byte(src, o + 2 + j) << 24) >> 24) * d;
};

// --- 256-element K-quant superblocks -----------------------------------------------------------

/**
 * block_q2_K { u8 scales[16]; u8 qs[64]; f16 d; f16 dmin }: 16 groups of 16, each with a 4-bit
 * scale (low nibble) and 4-bit min (high nibble). Element e = 128 g + 32 s + l is bits 2s..2s+1
 * of qs[32 g + l]; x = d * scale * q - dmin * min.
 */
const decodeQ2_K: BlockDecoder = (src, o, dst, k) => {
  const d = readHalf(src, o + 80);
  const dmin = readHalf(src, o + 82);
  for (let e = 0; e < 256; e++) {
    const sc = byte(src, o + (e >> 4));
    const g = e >> 7;
    const s = (e >> 5) & 3;
    const l = e & 31;
    const q = (byte(src, o + 16 + g * 32 + l) >> (2 * s)) & 3;
    dst[k + e] = fround(fround(d * (sc & 0x0f)) * q) - fround(dmin * (sc >> 4));
  }
};

/**
 * block_q3_K { u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d }: 16 signed 6-bit scales (low
 * nibbles in bytes 0..7, two high bits each in bytes 8..11), 2 low bits of q as in Q2_K, and
 * the third bit in hmask[l] bit (e / 32). A clear hmask bit means q - 4.
 */
const decodeQ3_K: BlockDecoder = (src, o, dst, k) => {
  const d = readHalf(src, o + 108);
  const scaled = new Float32Array(16);
  for (let j = 0; j < 16; j++) {
    const low = j < 8 ? byte(src, o + 96 + j) & 0x0f : byte(src, o + 96 + j - 8) >> 4;
    const high = (byte(src, o + 104 + (j & 3)) >> (2 * (j >> 2))) & 3;
    scaled[j] = d * ((low | (high << 4)) - 32);
  }
  for (let e = 0; e < 256; e++) {
    const g = e >> 7;
    const s = (e >> 5) & 3;
    const l = e & 31;
    const low = (byte(src, o + 32 + g * 32 + l) >> (2 * s)) & 3;
    const high = (byte(src, o + l) >> (e >> 5)) & 1;
    dst[k + e] = (scaled[e >> 4] ?? 0) * (low - (high ? 0 : 4));
  }
};

/**
 * get_scale_min_k4 (ggml-quants.c): 8 six-bit scales and mins packed in 12 bytes. For j < 4 the
 * low 6 bits of bytes j and j+4; for j >= 4 a nibble of byte j+4 plus the top 2 bits of bytes
 * j-4 (scale) and j (min).
 */
function scaleMinK4(src: Uint8Array, o: number, j: number): [scale: number, min: number] {
  if (j < 4) return [byte(src, o + j) & 63, byte(src, o + j + 4) & 63];
  const scale = (byte(src, o + j + 4) & 0x0f) | ((byte(src, o + j - 4) >> 6) << 4);
  const min = (byte(src, o + j + 4) >> 4) | ((byte(src, o + j) >> 6) << 4);
  return [scale, min];
}

/**
 * block_q4_K { f16 d; f16 dmin; u8 scales[12]; u8 qs[128] }: 8 groups of 32. Element
 * e = 64 g + 32 h + l is nibble h of qs[32 g + l], in group 2 g + h; x = d*scale*q - dmin*min.
 */
const decodeQ4_K: BlockDecoder = (src, o, dst, k) => {
  const d = readHalf(src, o);
  const dmin = readHalf(src, o + 2);
  for (let group = 0; group < 8; group++) {
    const [scale, min] = scaleMinK4(src, o + 4, group);
    const d1 = fround(d * scale);
    const m1 = fround(dmin * min);
    const g = group >> 1;
    const shift = 4 * (group & 1);
    for (let l = 0; l < 32; l++) {
      const q = (byte(src, o + 16 + 32 * g + l) >> shift) & 0x0f;
      dst[k + 32 * group + l] = fround(d1 * q) - m1;
    }
  }
};

/**
 * block_q5_K { f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] }: Q4_K plus a fifth bit,
 * bit (e / 32) of qh[e % 32].
 */
const decodeQ5_K: BlockDecoder = (src, o, dst, k) => {
  const d = readHalf(src, o);
  const dmin = readHalf(src, o + 2);
  for (let group = 0; group < 8; group++) {
    const [scale, min] = scaleMinK4(src, o + 4, group);
    const d1 = fround(d * scale);
    const m1 = fround(dmin * min);
    const g = group >> 1;
    const shift = 4 * (group & 1);
    for (let l = 0; l < 32; l++) {
      const low = (byte(src, o + 48 + 32 * g + l) >> shift) & 0x0f;
      const high = (byte(src, o + 16 + l) >> group) & 1;
      dst[k + 32 * group + l] = fround(d1 * (low | (high << 4))) - m1;
    }
  }
};

/**
 * block_q6_K { u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d }: two halves of 128. In half g,
 * element r = 64 h + l' takes nibble h of ql[64 g + l'], and r = 32 s + l takes bits 2s..2s+1 of
 * qh[32 g + l]; q = (low | high << 4) - 32, x = d * scales[e / 16] * q.
 */
const decodeQ6_K: BlockDecoder = (src, o, dst, k) => {
  const d = readHalf(src, o + 208);
  for (let e = 0; e < 256; e++) {
    const g = e >> 7;
    const r = e & 127;
    const low = (byte(src, o + 64 * g + (r & 63)) >> (4 * (r >> 6))) & 0x0f;
    const high = (byte(src, o + 128 + 32 * g + (r & 31)) >> (2 * (r >> 5))) & 3;
    const scale = (byte(src, o + 192 + (e >> 4)) << 24) >> 24;
    dst[k + e] = fround(d * scale) * ((low | (high << 4)) - 32);
  }
};

const BLOCK_DECODERS = {
  Q4_0: decodeQ4_0,
  Q4_1: decodeQ4_1,
  Q5_0: decodeQ5_0,
  Q5_1: decodeQ5_1,
  Q8_0: decodeQ8_0,
  Q2_K: decodeQ2_K,
  Q3_K: decodeQ3_K,
  Q4_K: decodeQ4_K,
  Q5_K: decodeQ5_K,
  Q6_K: decodeQ6_K,
} as const satisfies Partial<Record<GgmlTypeName, BlockDecoder>>;

export type DequantizableType = FloatTypeName | keyof typeof BLOCK_DECODERS;

/** Types `dequantize` accepts, in GGML id order. */
export const DEQUANTIZABLE_TYPES: readonly DequantizableType[] = (
  [...FLOAT_TYPES, ...(Object.keys(BLOCK_DECODERS) as (keyof typeof BLOCK_DECODERS)[])] as DequantizableType[]
).sort((a, b) => GGML_TYPES[a].id - GGML_TYPES[b].id);

export function isDequantizable(name: GgmlTypeName): name is DequantizableType {
  return (DEQUANTIZABLE_TYPES as readonly string[]).includes(name);
}

/** Bytes that `count` elements of `type` occupy; throws unless count fills whole blocks. */
export function ggmlByteLength(type: GgmlTypeInfo, count: number): number {
  if (count % type.blockSize !== 0) {
    throw new RangeError(`${type.name}: ${count} elements is not a whole number of ${type.blockSize}-element blocks`);
  }
  return (count / type.blockSize) * type.typeSize;
}

/**
 * Dequantises `count` elements of a GGML type from `bytes` (its raw blocks) into a new
 * Float32Array. `type` is a GGML type id (as in GGUF tensor infos) or its name.
 */
export function dequantize(type: number | GgmlTypeName, bytes: Uint8Array, count: number): Float32Array {
  const info = typeof type === 'number' ? ggmlType(type) : { name: type, ...GGML_TYPES[type] };
  if (info === undefined) {
    throw new RangeError(`unknown GGML type id ${String(type)}`);
  }
  if (!isDequantizable(info.name)) {
    throw new RangeError(
      `cannot dequantise GGML type ${info.name} (id ${info.id}); supported: ${DEQUANTIZABLE_TYPES.join(', ')}`,
    );
  }
  const byteLength = ggmlByteLength(info, count);
  if (bytes.byteLength < byteLength) {
    throw new RangeError(`${info.name}: ${count} elements need ${byteLength} bytes, got ${bytes.byteLength}`);
  }
  switch (info.name) {
    case 'F32': {
      // Copy first: the view may be unaligned, and the result must not alias the caller's bytes.
      return new Float32Array(bytes.slice(0, byteLength).buffer);
    }
    case 'F16':
      return f16ToF32(new Uint16Array(bytes.slice(0, byteLength).buffer));
    case 'BF16':
      return bf16ToF32(new Uint16Array(bytes.slice(0, byteLength).buffer));
    default: {
      const decode: BlockDecoder = BLOCK_DECODERS[info.name];
      const out = new Float32Array(count);
      const blocks = count / info.blockSize;
      for (let b = 0; b < blocks; b++) decode(bytes, b * info.typeSize, out, b * info.blockSize);
      return out;
    }
  }
}
