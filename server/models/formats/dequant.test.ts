import { describe, expect, it } from 'vitest';
import { bf16ToF32, dequantize, f16ToF32, ggmlType, halfToFloat } from './dequant';

/** A block built by hand: f16 scale bits followed by payload bytes. */
function block(halves: number[], payload: number[]): Uint8Array {
  const bytes = new Uint8Array(2 * halves.length + payload.length);
  halves.forEach((h, i) => {
    bytes[2 * i] = h & 0xff;
    bytes[2 * i + 1] = h >> 8;
  });
  bytes.set(payload, 2 * halves.length);
  return bytes;
}

const HALF_ONE = 0x3c00;
const HALF_HALF = 0x3800; // 0.5
const HALF_TWO = 0x4000;

describe('half and bfloat16 conversion', () => {
  it('decodes IEEE binary16 special cases', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x7bff)).toBe(65504);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0x03ff)).toBe(1023 * 2 ** -24);
    expect(Object.is(halfToFloat(0x8000), -0)).toBe(true);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0xfc00)).toBe(-Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
  });

  it('bulk f16 conversion agrees with the scalar decoder on all 65536 bit patterns', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const floats = f16ToF32(all);
    const mismatches: number[] = [];
    for (let i = 0; i < all.length; i++) {
      const want = halfToFloat(i);
      const got = floats[i] ?? 0;
      // Object.is tells -0 from 0 and matches NaN with NaN.
      if (!Object.is(got, want)) mismatches.push(i);
    }
    expect(mismatches).toEqual([]);
  });

  it('widens bfloat16 by placing its bits on top of a float32', () => {
    expect(Array.from(bf16ToF32(Uint16Array.from([0x3f80, 0xc040, 0x0000, 0x8000])))).toEqual([1, -3, 0, -0]);
  });
});

describe('dequantize', () => {
  it('Q8_0: x = q * d with signed bytes', () => {
    const payload = Array.from({ length: 32 }, (_, j) => (j - 16) & 0xff);
    const values = dequantize('Q8_0', block([HALF_HALF], payload), 32);
    expect(Array.from(values)).toEqual(Array.from({ length: 32 }, (_, j) => (j - 16) * 0.5));
  });

  it('Q4_0: low nibbles are elements 0..15, high nibbles 16..31, x = (q - 8) * d', () => {
    const payload = Array.from({ length: 16 }, (_, j) => j | ((15 - j) << 4));
    const values = Array.from(dequantize('Q4_0', block([HALF_TWO], payload), 32));
    expect(values.slice(0, 16)).toEqual(Array.from({ length: 16 }, (_, j) => (j - 8) * 2));
    expect(values.slice(16)).toEqual(Array.from({ length: 16 }, (_, j) => (15 - j - 8) * 2));
  });

  it('Q4_1: x = q * d + m', () => {
    const payload = Array.from({ length: 16 }, (_, j) => j | (j << 4));
    const values = Array.from(dequantize('Q4_1', block([HALF_HALF, 0xbc00], payload), 32)); // d = 0.5, m = -1
    const half = Array.from({ length: 16 }, (_, j) => j * 0.5 - 1);
    expect(values).toEqual([...half, ...half]);
  });

  it('decodes several blocks in sequence', () => {
    const one = block([HALF_ONE], new Array<number>(32).fill(1));
    const two = block([HALF_HALF], new Array<number>(32).fill(4));
    const both = new Uint8Array([...one, ...two]);
    const values = dequantize('Q8_0', both, 64);
    expect(values[0]).toBe(1);
    expect(values[63]).toBe(2);
  });

  it('accepts numeric GGML ids and unaligned views', () => {
    const floats = Float32Array.from([1.5, -2]);
    const shifted = new Uint8Array(9);
    shifted.set(new Uint8Array(floats.buffer), 1);
    expect(Array.from(dequantize(0, shifted.subarray(1), 2))).toEqual([1.5, -2]);
    expect(ggmlType(14)?.name).toBe('Q6_K');
  });

  it('names unknown and unsupported types', () => {
    expect(() => dequantize(99, new Uint8Array(0), 0)).toThrow('unknown GGML type id 99');
    expect(() => dequantize('IQ2_XXS', new Uint8Array(66), 256)).toThrow(
      /cannot dequantise GGML type IQ2_XXS \(id 16\); supported: F32, F16, Q4_0, .*BF16/,
    );
  });

  it('rejects partial blocks and short buffers', () => {
    expect(() => dequantize('Q4_K', new Uint8Array(144), 100)).toThrow('not a whole number of 256-element blocks');
    expect(() => dequantize('Q6_K', new Uint8Array(200), 256)).toThrow('need 210 bytes, got 200');
  });
});
