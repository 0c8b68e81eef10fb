import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dequantize } from './dequant';
import { CheckpointError } from './errors';
import { openGguf } from './gguf';
import { openSafetensors } from './safetensors';

const FIXTURES = fileURLToPath(new URL('../../../data/fixtures/formats/', import.meta.url));
const QUANTS = path.join(FIXTURES, 'quants.gguf');
/** gguf.quants.dequantize of each tensor in quants.gguf, as F32 (see reference/make_format_fixtures.py). */
const EXPECTED = path.join(FIXTURES, 'quants.expected.safetensors');

const TENSORS: [name: string, type: string, shape: number[]][] = [
  ['t.f32', 'F32', [2, 3, 4]],
  ['t.f16', 'F16', [3, 8]],
  ['t.bf16', 'BF16', [2, 16]],
  ['t.q8_0', 'Q8_0', [3, 64]],
  ['t.q4_0', 'Q4_0', [3, 64]],
  ['t.q4_1', 'Q4_1', [3, 64]],
  ['t.q5_0', 'Q5_0', [2, 64]],
  ['t.q5_1', 'Q5_1', [2, 64]],
  ['t.q2_k', 'Q2_K', [2, 256]],
  ['t.q3_k', 'Q3_K', [2, 256]],
  ['t.q4_k', 'Q4_K', [2, 512]],
  ['t.q5_k', 'Q5_K', [2, 256]],
  ['t.q6_k', 'Q6_K', [2, 512]],
];

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'locus-gguf-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function expectCheckpointError(promise: Promise<unknown>, ...fragments: string[]): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CheckpointError);
  for (const fragment of fragments) expect((error as CheckpointError).message).toContain(fragment);
}

/** Indices where two float arrays differ bit for bit (so -0 vs 0 and NaN payloads count). */
function bitMismatches(actual: Float32Array, expected: Float32Array): number[] {
  expect(actual.length).toBe(expected.length);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const b = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  const mismatches: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) mismatches.push(i);
  return mismatches;
}

/** A copy of quants.gguf with one tensor's GGML type id rewritten in its tensor info. */
async function withTensorType(tensor: string, typeId: number): Promise<string> {
  const bytes = new Uint8Array(await readFile(QUANTS));
  const name = new TextEncoder().encode(tensor);
  const at = Buffer.from(bytes).indexOf(Buffer.from(name));
  expect(at).toBeGreaterThan(0);
  const view = new DataView(bytes.buffer);
  // Tensor info (GGUF v3): u64 name length, name, u32 n_dims, u64 dims[n_dims], u32 type, u64 offset.
  const nDims = view.getUint32(at + name.byteLength, true);
  view.setUint32(at + name.byteLength + 4 + 8 * nDims, typeId, true);
  const file = path.join(scratch, `${tensor}-type-${typeId}.gguf`);
  await writeFile(file, bytes);
  return file;
}

describe('openGguf', () => {
  it('reads key/values of every GGUF value type', async () => {
    const { metadata, version, alignment } = await openGguf(QUANTS);
    expect(version).toBe(3);
    expect(alignment).toBe(32);
    expect(metadata).toMatchObject({
      'general.architecture': 'llama',
      'general.name': 'locus-format-fixture',
      'llama.embedding_length': 64,
      'llama.attention.layer_norm_rms_epsilon': Math.fround(1e-5),
      'tokenizer.ggml.tokens': ['<s>', '</s>', 'hello', '▁world', '日本'],
      'tokenizer.ggml.scores': [0, -1.5, 2.25],
      'tokenizer.ggml.token_type': [1, 3, -2],
      'fixture.bools': [true, false, true],
      'fixture.u8': 200,
      'fixture.i8': -100,
      'fixture.u16': 60000,
      'fixture.i16': -30000,
      'fixture.i32': -2_000_000_000,
      'fixture.u64': 2 ** 40 + 3,
      'fixture.i64': -(2 ** 40) - 3,
      'fixture.u64_big': 2n ** 63n + 1n,
      'fixture.f64': 0.1,
      'fixture.true': true,
      'fixture.false': false,
    });
    expect(Object.keys(metadata)).not.toContain('tensor_count');
  });

  it('lists tensors with PyTorch-order shapes, types and absolute offsets', async () => {
    const file = await openGguf(QUANTS);
    expect(file.tensors.map((t) => [t.name, t.typeName, t.shape])).toEqual(TENSORS);
    for (const tensor of file.tensors) {
      expect((tensor.offset - file.dataOffset) % 32).toBe(0);
    }
    expect(file.info('t.q6_k')).toMatchObject({ ggmlType: 14, byteLength: 4 * 210 });
    expect(file.info('t.q4_1')).toMatchObject({ ggmlType: 3, byteLength: 6 * 20 });
    expect(file.has('t.q5_k')).toBe(true);
    expect(file.has('output.weight')).toBe(false);
  });

  it('dequantises every type bit-identically to gguf-py', async () => {
    const file = await openGguf(QUANTS);
    const expected = await openSafetensors(EXPECTED);
    for (const [name] of TENSORS) {
      const want = await expected.read(name);
      if (want.dtype !== 'f32') throw new Error(`${name}: expected values must be F32`);
      const got = await file.read(name);
      expect({ name, mismatches: bitMismatches(got, want.data) }).toEqual({ name, mismatches: [] });
    }
  });

  it('exposes the raw bytes, which dequantize() decodes the same way', async () => {
    const file = await openGguf(QUANTS);
    const raw = await file.readRaw('t.q4_k');
    expect(raw.byteLength).toBe(file.info('t.q4_k').byteLength);
    expect(dequantize('Q4_K', raw, 1024)).toEqual(await file.read('t.q4_k'));
    expect(dequantize(12, raw, 1024)).toEqual(await file.read('t.q4_k'));
  });

  it('honours general.alignment', async () => {
    const file = await openGguf(path.join(FIXTURES, 'aligned64.gguf'));
    expect(file.alignment).toBe(64);
    expect(file.dataOffset % 64).toBe(0);
    expect(file.info('b').offset - file.dataOffset).toBe(64);
    expect(Array.from(await file.read('a'))).toEqual([1, 2, 3]);
    expect(Array.from(await file.read('b'))).toEqual([-1, -0.5, 0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5]);
    expect(file.metadata['general.architecture']).toBe('gpt2');
  });

  it('names the tensor it was asked for and does not have', async () => {
    const file = await openGguf(QUANTS);
    await expectCheckpointError(file.read('output.weight'), QUANTS, "tensor 'output.weight'", 't.f32');
  });
});

describe('malformed GGUF files', () => {
  it('reports a file truncated in its data section, naming the tensor', async () => {
    const bytes = await readFile(QUANTS);
    const file = path.join(scratch, 'truncated-data.gguf');
    await writeFile(file, bytes.subarray(0, bytes.byteLength - 100));
    await expectCheckpointError(openGguf(file), file, "tensor 't.q6_k'", 'truncated');
  });

  it('reports a file truncated in its header', async () => {
    const bytes = await readFile(QUANTS);
    for (const cut of [300, 1000]) {
      const file = path.join(scratch, `truncated-header-${cut}.gguf`);
      await writeFile(file, bytes.subarray(0, cut));
      await expectCheckpointError(openGguf(file), file, 'truncated');
    }
  });

  it('reports a file that is not GGUF', async () => {
    const file = path.join(scratch, 'not.gguf');
    await writeFile(file, 'GGML this is not');
    await expectCheckpointError(openGguf(file), file, 'magic');
  });

  it('names an unknown GGML type id when opening', async () => {
    await expectCheckpointError(openGguf(await withTensorType('t.q4_k', 99)), "tensor 't.q4_k'", 'unknown GGML type id 99');
  });

  it('opens files with types it cannot dequantise, and names the type when one is read', async () => {
    const file = await openGguf(await withTensorType('t.q4_k', 16));
    expect(file.info('t.q4_k').typeName).toBe('IQ2_XXS');
    expect(Array.from(await file.read('t.f32'))).toHaveLength(24);
    await expectCheckpointError(file.read('t.q4_k'), "tensor 't.q4_k'", 'IQ2_XXS (id 16) cannot be dequantised', 'Q6_K');
  });

  it('reports rows that do not split into whole blocks', async () => {
    // Q4_K has 256-element blocks; t.q4_0's rows hold 64 elements.
    await expectCheckpointError(openGguf(await withTensorType('t.q4_0', 12)), "tensor 't.q4_0'", '256-element Q4_K blocks');
  });

  it('reports a file that is missing', async () => {
    await expectCheckpointError(openGguf(path.join(scratch, 'absent.gguf')), 'no such file');
  });
});
