import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError } from './errors';
import {
  openCheckpoint,
  openSafetensors,
  readSafetensorsHeader,
  toFloat32,
  writeSafetensors,
  type TensorData,
} from './safetensors';

const FIXTURES = fileURLToPath(new URL('../../../data/fixtures/formats/', import.meta.url));
const SMALL = path.join(FIXTURES, 'small.safetensors');
const SHARDED = path.join(FIXTURES, 'sharded');

/** The formula reference/make_format_fixtures.py fills tensors with: start + i * step. */
function ramp(count: number, start: number, step: number): number[] {
  return Array.from({ length: count }, (_, i) => start + i * step);
}

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'locus-safetensors-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** Writes a safetensors file from a header object and data bytes, lies included. */
async function craft(name: string, header: unknown, data: Uint8Array, headerText?: string): Promise<string> {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const bytes = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  bytes.set(json, 8);
  bytes.set(data, 8 + json.byteLength);
  const file = path.join(scratch, name);
  await writeFile(file, bytes);
  return file;
}

async function expectCheckpointError(promise: Promise<unknown>, ...fragments: string[]): Promise<CheckpointError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CheckpointError);
  const message = (error as CheckpointError).message;
  for (const fragment of fragments) expect(message).toContain(fragment);
  return error as CheckpointError;
}

describe('readSafetensorsHeader', () => {
  it('reads dtypes, shapes, offsets and metadata of a file written by the safetensors package', async () => {
    const header = await readSafetensorsHeader(SMALL);
    expect(header.metadata).toEqual({ format: 'pt', note: 'locus format fixture' });
    expect(header.dataStart % 8).toBe(0);
    expect(header.tensors['f32.weight']).toEqual({ dtype: 'F32', shape: [3, 5], dataOffsets: [0, 60] });
    expect(header.tensors['bf16.weight']?.dtype).toBe('BF16');
    expect(header.tensors['scalar']?.shape).toEqual([]);
    expect(header.tensors['empty']).toEqual({ dtype: 'F32', shape: [0, 4], dataOffsets: [0, 0] });
  });
});

describe('openSafetensors', () => {
  it('reads each dtype with the values the fixture script wrote', async () => {
    const file = await openSafetensors(SMALL);
    const f32 = await file.read('f32.weight');
    expect(f32.dtype).toBe('f32');
    expect(f32.shape).toEqual([3, 5]);
    expect(Array.from(f32.data)).toEqual(ramp(15, -0.875, 0.125));

    const f16 = await file.read('f16.weight');
    expect(f16.dtype).toBe('f16');
    expect(f16.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(toFloat32(f16))).toEqual(ramp(24, -6, 0.5));

    const bf16 = await file.read('bf16.weight');
    expect(bf16.dtype).toBe('bf16');
    expect(bf16.shape).toEqual([2, 3, 4]);
    expect(Array.from(toFloat32(bf16))).toEqual(ramp(24, -3, 0.25));

    const i32 = await file.read('i32.index');
    expect(i32.data).toBeInstanceOf(Int32Array);
    expect(Array.from(i32.data)).toEqual(ramp(7, -5, 3));

    expect(Array.from((await file.read('scalar')).data)).toEqual([3.5]);
    expect((await file.read('empty')).data.length).toBe(0);
  });

  it('lists names in file order and answers info/has', async () => {
    const file = await openSafetensors(SMALL);
    expect(file.names()).toEqual(['empty', 'f32.weight', 'scalar', 'i32.index', 'bf16.weight', 'f16.weight']);
    expect(file.has('f16.weight')).toBe(true);
    expect(file.has('nope')).toBe(false);
    expect(file.info('f16.weight')).toEqual({ dtype: 'F16', shape: [4, 6], dataOffsets: [140, 188], file: SMALL });
  });

  it('names the file and the missing tensor when asked for one it lacks', async () => {
    const file = await openSafetensors(SMALL);
    await expectCheckpointError(file.read('lm_head.weight'), SMALL, "tensor 'lm_head.weight'", 'f32.weight');
  });

  it('returns arrays that own fresh buffers', async () => {
    const file = await openSafetensors(SMALL);
    const tensor = await file.read('f16.weight');
    expect(tensor.data.byteOffset).toBe(0);
    expect(tensor.data.buffer.byteLength).toBe(tensor.data.byteLength);
  });
});

describe('writeSafetensors', () => {
  it('round-trips every dtype, empty and 0-d tensors, and metadata', async () => {
    const tensors: Record<string, TensorData> = {
      'a.f32': { dtype: 'f32', shape: [2, 3], data: Float32Array.from([1, -2, 3.25, 1e-30, -0, 7]) },
      'b.f16': { dtype: 'f16', shape: [3], data: Uint16Array.from([0x3c00, 0xc000, 0x7bff]) },
      'c.bf16': { dtype: 'bf16', shape: [1, 2], data: Uint16Array.from([0x3f80, 0xbfc0]) },
      'd.i32': { dtype: 'i32', shape: [4], data: Int32Array.from([0, -1, 2 ** 31 - 1, -(2 ** 31)]) },
      'e.empty': { dtype: 'f32', shape: [0, 5], data: new Float32Array(0) },
      'f.scalar': { dtype: 'i32', shape: [], data: Int32Array.from([42]) },
    };
    const file = path.join(scratch, 'roundtrip.safetensors');
    await writeSafetensors(file, tensors, { format: 'pt', edit: 'rome' });

    const header = await readSafetensorsHeader(file);
    expect(header.dataStart % 8).toBe(0);
    const reopened = await openSafetensors(file);
    expect(reopened.metadata).toEqual({ format: 'pt', edit: 'rome' });
    expect(reopened.names()).toEqual(Object.keys(tensors));
    for (const [name, tensor] of Object.entries(tensors)) {
      const read = await reopened.read(name);
      expect(read.dtype).toBe(tensor.dtype);
      expect(read.shape).toEqual(tensor.shape);
      expect(Array.from(read.data)).toEqual(Array.from(tensor.data));
    }
    expect(Object.is((await reopened.read('a.f32')).data[4], -0)).toBe(true);
    expect((await readdir(scratch)).filter((name) => name.includes('.tmp-'))).toEqual([]);
  });

  it('writes byte-identical output to the reference writer given the same order and metadata', async () => {
    const source = await openSafetensors(SMALL);
    const tensors: Record<string, TensorData> = {};
    for (const name of source.names()) tensors[name] = await source.read(name);
    const file = path.join(scratch, 'rewritten.safetensors');
    await writeSafetensors(file, tensors, source.metadata);
    expect(Buffer.compare(await readFile(file), await readFile(SMALL))).toBe(0);
  });

  it('writes from views into larger buffers without copying their neighbours', async () => {
    const backing = Float32Array.from([9, 1, 2, 3, 9]);
    const file = path.join(scratch, 'view.safetensors');
    await writeSafetensors(file, { v: { dtype: 'f32', shape: [3], data: backing.subarray(1, 4) } });
    expect(Array.from((await (await openSafetensors(file)).read('v')).data)).toEqual([1, 2, 3]);
  });

  it('rejects data that disagrees with its shape or dtype', async () => {
    const file = path.join(scratch, 'bad-write.safetensors');
    await expectCheckpointError(
      writeSafetensors(file, { w: { dtype: 'f32', shape: [2, 2], data: new Float32Array(3) } }),
      "tensor 'w'",
      'shape [2,2] has 4 elements, data has 3',
    );
    const mislabelled = { dtype: 'f16', shape: [2], data: new Float32Array(2) } as unknown as TensorData;
    await expectCheckpointError(writeSafetensors(file, { w: mislabelled }), 'f16 data must be a Uint16Array');
  });
});

describe('openCheckpoint', () => {
  it('reads a sharded folder through its index, as one checkpoint', async () => {
    const checkpoint = await openCheckpoint(SHARDED);
    // File order, shard by shard: the Rust writer puts F32 before BF16 within a shard.
    expect(checkpoint.names()).toEqual(['embed.weight', 'layers.0.weight', 'head.weight', 'layers.1.weight']);
    expect(checkpoint.info('head.weight').file).toBe(path.join(SHARDED, 'model-00002-of-00002.safetensors'));
    expect(Array.from((await checkpoint.read('embed.weight')).data)).toEqual(ramp(24, 0, 0.5));
    expect(Array.from(toFloat32(await checkpoint.read('layers.0.weight')))).toEqual(ramp(16, -1, 0.125));
    expect(Array.from(toFloat32(await checkpoint.read('layers.1.weight')))).toEqual(ramp(16, 1, -0.125));
    expect(Array.from((await checkpoint.read('head.weight')).data)).toEqual(ramp(12, 2, 0.25));
    expect(checkpoint.metadata).toEqual({ format: 'pt' });
  });

  it('reads a folder with a single model.safetensors', async () => {
    const dir = path.join(scratch, 'single');
    await mkdir(dir);
    await copyFile(SMALL, path.join(dir, 'model.safetensors'));
    const checkpoint = await openCheckpoint(dir);
    expect(checkpoint.names()).toHaveLength(6);
    expect((await checkpoint.read('f32.weight')).shape).toEqual([3, 5]);
  });

  it('lists the missing shards', async () => {
    const dir = path.join(scratch, 'missing-shard');
    await mkdir(dir);
    await copyFile(path.join(SHARDED, 'model.safetensors.index.json'), path.join(dir, 'model.safetensors.index.json'));
    await copyFile(
      path.join(SHARDED, 'model-00001-of-00002.safetensors'),
      path.join(dir, 'model-00001-of-00002.safetensors'),
    );
    await expectCheckpointError(openCheckpoint(dir), dir, '1 missing', 'model-00002-of-00002.safetensors');
  });

  it('says which files it expected in a folder without a checkpoint', async () => {
    const dir = path.join(scratch, 'torch-only');
    await mkdir(dir);
    await writeFile(path.join(dir, 'pytorch_model.bin'), 'x');
    await writeFile(path.join(dir, 'config.json'), '{}');
    await expectCheckpointError(
      openCheckpoint(dir),
      'expected model.safetensors or model.safetensors.index.json',
      'config.json, pytorch_model.bin',
      'not supported',
    );
  });

  it('rejects an index that maps a tensor to a shard lacking it', async () => {
    const dir = path.join(scratch, 'lying-index');
    await mkdir(dir);
    for (const shard of ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']) {
      await copyFile(path.join(SHARDED, shard), path.join(dir, shard));
    }
    const index = JSON.parse(await readFile(path.join(SHARDED, 'model.safetensors.index.json'), 'utf8')) as {
      weight_map: Record<string, string>;
    };
    index.weight_map['head.weight'] = 'model-00001-of-00002.safetensors';
    await writeFile(path.join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
    await expectCheckpointError(openCheckpoint(dir), "'head.weight' (in model-00001-of-00002.safetensors)");
  });

  it('rejects shard names that leave the folder', async () => {
    const dir = path.join(scratch, 'escaping-index');
    await mkdir(dir);
    await writeFile(
      path.join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ weight_map: { w: '../small.safetensors' } }),
    );
    await expectCheckpointError(openCheckpoint(dir), "shard '../small.safetensors'");
  });

  it('reports a malformed index file', async () => {
    const dir = path.join(scratch, 'broken-index');
    await mkdir(dir);
    await writeFile(path.join(dir, 'model.safetensors.index.json'), '{"weight_map": ');
    await expectCheckpointError(openCheckpoint(dir), 'model.safetensors.index.json', 'cannot read the shard index');
  });
});

describe('malformed safetensors files', () => {
  const f32Entry = (begin: number, end: number, shape = [2]) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

  it('reports a file truncated inside the data section, naming the tensor', async () => {
    const bytes = await readFile(SMALL);
    const file = path.join(scratch, 'truncated-data.safetensors');
    await writeFile(file, bytes.subarray(0, bytes.byteLength - 10));
    await expectCheckpointError(openSafetensors(file), file, "tensor 'f16.weight'", 'truncated');
  });

  it('reports a file truncated inside its header', async () => {
    const bytes = await readFile(SMALL);
    const file = path.join(scratch, 'truncated-header.safetensors');
    await writeFile(file, bytes.subarray(0, 100));
    await expectCheckpointError(openSafetensors(file), 'header length 448 does not fit in a 100-byte file');
  });

  it('reports files too short for the length prefix', async () => {
    const file = path.join(scratch, 'tiny.safetensors');
    await writeFile(file, new Uint8Array(5));
    await expectCheckpointError(openSafetensors(file), 'file is 5 bytes');
  });

  it('reports offsets beyond the end of the file', async () => {
    const file = await craft('beyond.safetensors', { a: f32Entry(0, 8), b: f32Entry(8, 16) }, new Uint8Array(8));
    await expectCheckpointError(openSafetensors(file), "tensor 'b'", 'run past the end of the data section (8 bytes');
  });

  it('reports a byte span that disagrees with shape and dtype', async () => {
    const file = await craft('mismatch.safetensors', { w: f32Entry(0, 12, [2, 2]) }, new Uint8Array(12));
    await expectCheckpointError(openSafetensors(file), "tensor 'w'", 'hold 12 bytes but F32 [2,2] needs 16');
  });

  it('reports overlapping and gapped spans', async () => {
    const overlap = await craft('overlap.safetensors', { a: f32Entry(0, 8), b: f32Entry(4, 12) }, new Uint8Array(12));
    await expectCheckpointError(openSafetensors(overlap), "tensor 'b'", "overlap tensor 'a'");
    const gap = await craft('gap.safetensors', { a: f32Entry(0, 8), b: f32Entry(12, 20) }, new Uint8Array(20));
    await expectCheckpointError(openSafetensors(gap), "tensor 'b'", 'gap after byte 8');
  });

  it('reports stray bytes after the last tensor', async () => {
    const file = await craft('stray.safetensors', { a: f32Entry(0, 8) }, new Uint8Array(12));
    await expectCheckpointError(openSafetensors(file), '4 stray bytes');
  });

  it('reports invalid JSON with the parser’s reason', async () => {
    const file = await craft('bad-json.safetensors', null, new Uint8Array(0), '{"a": {"dtype": "F32",');
    await expectCheckpointError(openSafetensors(file), file, 'header is not valid JSON');
  });

  it('reports entries that do not match the schema', async () => {
    const file = await craft('bad-entry.safetensors', { w: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }, new Uint8Array(0));
    await expectCheckpointError(openSafetensors(file), "tensor 'w'", 'shape.0');
  });

  it('names an unknown dtype', async () => {
    const file = await craft('unknown-dtype.safetensors', { w: { dtype: 'F17', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4));
    await expectCheckpointError(openSafetensors(file), "tensor 'w'", "unknown dtype 'F17'", 'BF16');
  });

  it('opens files with dtypes it cannot read, and names the dtype when one is read', async () => {
    const file = await craft(
      'int64.safetensors',
      { ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] }, w: f32Entry(16, 24) },
      new Uint8Array(24),
    );
    const opened = await openSafetensors(file);
    expect(Array.from((await opened.read('w')).data)).toEqual([0, 0]);
    await expectCheckpointError(opened.read('ids'), "tensor 'ids'", 'dtype I64 is not supported', 'F32, F16, BF16, I32');
  });

  it('rejects a header that is not UTF-8 or not an object', async () => {
    const notUtf8 = path.join(scratch, 'latin1.safetensors');
    const bytes = new Uint8Array(8 + 4);
    new DataView(bytes.buffer).setBigUint64(0, 4n, true);
    bytes.set([0x7b, 0xff, 0xfe, 0x7d], 8);
    await writeFile(notUtf8, bytes);
    await expectCheckpointError(openSafetensors(notUtf8), 'not valid UTF-8');
    const array = await craft('array.safetensors', null, new Uint8Array(0), '[1, 2]');
    await expectCheckpointError(openSafetensors(array), "does not start with '{'");
  });

  it('reports a file that is missing', async () => {
    await expectCheckpointError(openSafetensors(path.join(scratch, 'absent.safetensors')), 'no such file');
  });
});
