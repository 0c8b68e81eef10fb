/**
 * Data types. f32 is the compute type; f16 and bf16 are storage types (weights on disk, and on the
 * GPU later) converted to f32 before arithmetic; i32 holds indices (token ids, gather indices).
 */
export type DType = 'f32' | 'f16' | 'bf16' | 'i32';

export type TypedArrayFor<D extends DType> = D extends 'i32'
  ? Int32Array
  : D extends 'f32'
    ? Float32Array
    : Uint16Array;

export type AnyTypedArray = Float32Array | Int32Array | Uint16Array;

export const BYTES_PER_ELEMENT: Record<DType, number> = { f32: 4, f16: 2, bf16: 2, i32: 4 };

export function isFloat(dtype: DType): boolean {
  return dtype !== 'i32';
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE half bits -> the number they encode. Handles subnormals, infinities and NaN. */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

/** Half bits -> single bits, for bulk conversion through a Uint32Array view. */
function f16BitsToF32Bits(bits: number): number {
  const sign = (bits & 0x8000) << 16;
  const exponent = (bits >> 10) & 0x1f;
  let mantissa = bits & 0x3ff;
  if (exponent === 0x1f) return sign | 0x7f800000 | (mantissa << 13);
  if (exponent !== 0) return sign | ((exponent + 112) << 23) | (mantissa << 13);
  if (mantissa === 0) return sign;
  // A subnormal half is a normal float: shift the leading 1 up to the implicit-bit position.
  let floatExponent = 113;
  while ((mantissa & 0x400) === 0) {
    mantissa <<= 1;
    floatExponent--;
  }
  return sign | (floatExponent << 23) | ((mantissa & 0x3ff) << 13);
}

/** f16 storage (raw bits) to float32 values. */
export function f16ToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = f16BitsToF32Bits(bits[i]!);
  return out;
}

/** bf16 storage (raw bits) to float32 values: bf16 is the top half of a float32. */
export function bf16ToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i]! << 16;
  return out;
}

/** Single -> IEEE half, round to nearest even; overflow goes to infinity. */
export function f32ToF16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  let e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mantissa >> shift;
    const rest = mantissa & ((1 << shift) - 1);
    if (rest > half || (rest === half && m & 1)) m += 1;
    return sign | m;
  }
  let m = mantissa >> 13;
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && m & 1)) {
    m += 1;
    if (m === 0x400) {
      m = 0;
      e += 1;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

/** bf16 is the top half of an f32. */
export function bf16BitsToF32(b: number): number {
  u32Scratch[0] = b << 16;
  return f32Scratch[0]!;
}

/** Single -> bf16, round to nearest even (NaN kept quiet). */
export function f32ToBf16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  const rounding = 0x7fff + ((x >>> 16) & 1);
  return ((x + rounding) >>> 16) & 0xffff;
}

export function toF32(data: AnyTypedArray, dtype: DType): Float32Array {
  if (dtype === 'f32') return data as Float32Array;
  if (dtype === 'i32') return Float32Array.from(data);
  return dtype === 'f16' ? f16ToF32(data as Uint16Array) : bf16ToF32(data as Uint16Array);
}

export function fromF32(data: Float32Array, dtype: DType): AnyTypedArray {
  if (dtype === 'f32') return data;
  if (dtype === 'i32') return Int32Array.from(data, Math.trunc);
  const out = new Uint16Array(data.length);
  const convert = dtype === 'f16' ? f32ToF16Bits : f32ToBf16Bits;
  for (let i = 0; i < data.length; i++) out[i] = convert(data[i]!);
  return out;
}
