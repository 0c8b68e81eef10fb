/**
 * safetensors reader and writer, and Hugging Face checkpoint folders (single file or sharded).
 *
 * Format (https://github.com/huggingface/safetensors#format): an 8-byte little-endian u64 N, N
 * bytes of UTF-8 JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {..}}`,
 * then the data section; offsets are relative to its start. Validation mirrors the reference
 * Rust implementation (safetensors/src/tensor.rs `Metadata::validate`): offsets contiguous from 0,
 * each span exactly prod(shape) * itemsize, and the last one ending at the end of the file.
 *
 * Readers read the header, then each tensor's byte range on demand into a fresh buffer: a
 * checkpoint is never loaded whole, and no byte is read twice.
 */
import { open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { toF32 } from '../../engine/dtype';
import { CheckpointError } from './errors';
import { assertLittleEndianHost, describeFsError, readExactly, readRange, withFile } from './fileio';

/** Bits per element of every dtype the format defines (safetensors/src/tensor.rs `Dtype`). */
const DTYPE_BITS = {
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
} as const satisfies Record<string, number>;

/** A dtype name as written in a safetensors header. */
export type SafetensorsDtype = keyof typeof DTYPE_BITS;

/** The dtypes `read` returns (the engine's storage dtypes) and the header names they map to. */
const READABLE = { F32: 'f32', F16: 'f16', BF16: 'bf16', I32: 'i32' } as const satisfies Partial<
  Record<SafetensorsDtype, string>
>;
export type TensorDtype = (typeof READABLE)[keyof typeof READABLE];
const HEADER_DTYPE: Record<TensorDtype, SafetensorsDtype> = { f32: 'F32', f16: 'F16', bf16: 'BF16', i32: 'I32' };

/** A tensor in memory. f16 and bf16 hold raw bits; `toFloat32` widens them. Row-major. */
export type TensorData =
  | { dtype: 'f32'; shape: number[]; data: Float32Array }
  | { dtype: 'f16' | 'bf16'; shape: number[]; data: Uint16Array }
  | { dtype: 'i32'; shape: number[]; data: Int32Array };

/** One header entry, offsets relative to the data section. */
export interface SafetensorsTensorInfo {
  dtype: SafetensorsDtype;
  shape: number[];
  dataOffsets: [begin: number, end: number];
}

export interface SafetensorsHeader {
  tensors: Record<string, SafetensorsTensorInfo>;
  metadata?: Record<string, string>;
  /** Absolute file offset of the data section: 8 + header length. */
  dataStart: number;
  fileSize: number;
}

/** A tensor's header entry plus the file that holds it (one shard of a sharded checkpoint). */
export interface CheckpointTensorInfo extends SafetensorsTensorInfo {
  file: string;
}

/** A safetensors file or a Hugging Face checkpoint folder, read tensor by tensor. */
export interface SafetensorsCheckpoint {
  /** The file, or the folder of a sharded checkpoint. */
  readonly path: string;
  /** `__metadata__` of the file (of the first shard, for a sharded checkpoint). */
  readonly metadata: Record<string, string> | undefined;
  /** Tensor names, in file order (shard by shard). */
  names(): string[];
  has(name: string): boolean;
  info(name: string): CheckpointTensorInfo;
  /** Reads one tensor's bytes from disk into a fresh typed array. */
  read(name: string): Promise<TensorData>;
}

/** The Rust reader's cap (safetensors/src/tensor.rs MAX_HEADER_SIZE): a larger N is corrupt. */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';

const nonNegativeInt = z.number().int().nonnegative();
const TensorEntrySchema = z.object({
  dtype: z.string(),
  shape: z.array(nonNegativeInt),
  data_offsets: z.tuple([nonNegativeInt, nonNegativeInt]),
});
const MetadataSchema = z.record(z.string(), z.string());
const HeaderSchema = z.record(z.string(), z.unknown());

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
}

function isSafetensorsDtype(dtype: string): dtype is SafetensorsDtype {
  return Object.hasOwn(DTYPE_BITS, dtype);
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((count, dim) => count * dim, 1);
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/**
 * Reads and validates the header of a safetensors file: the 8-byte length and the JSON, nothing
 * of the data section.
 */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  const { fileSize, json } = await withFile(file, async (handle) => {
    const { size } = await handle.stat();
    if (size < 8) {
      throw new CheckpointError(file, `file is ${size} bytes, too short for a safetensors header (truncated?)`);
    }
    const lengthBytes = new Uint8Array(8);
    await readExactly(handle, lengthBytes, 0, file);
    const headerLength = new DataView(lengthBytes.buffer).getBigUint64(0, true);
    if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, size - 8))) {
      throw new CheckpointError(
        file,
        `header length ${headerLength} does not fit in a ${size}-byte file (not safetensors, or truncated)`,
      );
    }
    const headerBytes = new Uint8Array(Number(headerLength));
    await readExactly(handle, headerBytes, 8, file);
    return { fileSize: size, json: headerBytes };
  });
  const dataStart = 8 + json.byteLength;
  return parseHeader(file, json, dataStart, fileSize);
}

function parseHeader(file: string, bytes: Uint8Array, dataStart: number, fileSize: number): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new CheckpointError(file, 'header is not valid UTF-8', { cause });
  }
  if (!text.startsWith('{')) {
    throw new CheckpointError(file, `header does not start with '{' (starts ${JSON.stringify(text.slice(0, 16))})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new CheckpointError(file, `header is not valid JSON: ${reason}`, { cause });
  }
  const header = HeaderSchema.safeParse(raw);
  if (!header.success) {
    throw new CheckpointError(file, `header is not a JSON object: ${describeIssues(header.error)}`);
  }

  let metadata: Record<string, string> | undefined;
  const tensors: Record<string, SafetensorsTensorInfo> = {};
  for (const [name, value] of Object.entries(header.data)) {
    if (name === METADATA_KEY) {
      const parsed = MetadataSchema.safeParse(value);
      if (!parsed.success) {
        throw new CheckpointError(file, `__metadata__ must map strings to strings: ${describeIssues(parsed.error)}`);
      }
      metadata = parsed.data;
      continue;
    }
    const parsed = TensorEntrySchema.safeParse(value);
    if (!parsed.success) {
      throw new CheckpointError(file, `bad header entry: ${describeIssues(parsed.error)}`, { tensor: name });
    }
    const { dtype, shape, data_offsets: dataOffsets } = parsed.data;
    if (!isSafetensorsDtype(dtype)) {
      throw new CheckpointError(
        file,
        `unknown dtype '${dtype}' (safetensors dtypes: ${Object.keys(DTYPE_BITS).join(', ')})`,
        { tensor: name },
      );
    }
    tensors[name] = { dtype, shape, dataOffsets };
  }
  validateLayout(file, tensors, fileSize - dataStart);
  return { tensors, ...(metadata === undefined ? {} : { metadata }), dataStart, fileSize };
}

/** Sizes match shapes; spans tile the data section exactly, in any header order. */
function validateLayout(file: string, tensors: Record<string, SafetensorsTensorInfo>, dataBytes: number): void {
  for (const [name, { dtype, shape, dataOffsets }] of Object.entries(tensors)) {
    const [begin, end] = dataOffsets;
    const bits = elementCount(shape) * DTYPE_BITS[dtype];
    if (!Number.isSafeInteger(bits) || bits % 8 !== 0) {
      throw new CheckpointError(file, `${dtype} ${formatShape(shape)} is not a whole number of bytes`, {
        tensor: name,
      });
    }
    if (end < begin) {
      throw new CheckpointError(file, `data_offsets [${begin}, ${end}] end before they begin`, { tensor: name });
    }
    if (end - begin !== bits / 8) {
      throw new CheckpointError(
        file,
        `data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype} ${formatShape(shape)} needs ${bits / 8}`,
        { tensor: name },
      );
    }
    if (end > dataBytes) {
      throw new CheckpointError(
        file,
        `data_offsets [${begin}, ${end}] run past the end of the data section (${dataBytes} bytes; truncated file?)`,
        { tensor: name },
      );
    }
  }
  // Sorting by (begin, end) puts empty tensors before the tensor that starts where they sit.
  const spans = Object.entries(tensors).sort(
    ([, a], [, b]) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1],
  );
  let expected = 0;
  let previous: string | undefined;
  for (const [name, { dataOffsets }] of spans) {
    const [begin, end] = dataOffsets;
    if (begin < expected) {
      throw new CheckpointError(file, `data_offsets [${begin}, ${end}] overlap tensor '${previous}'`, { tensor: name });
    }
    if (begin > expected) {
      throw new CheckpointError(file, `data_offsets [${begin}, ${end}] leave a gap after byte ${expected}`, {
        tensor: name,
      });
    }
    expected = end;
    previous = name;
  }
  if (expected !== dataBytes) {
    throw new CheckpointError(
      file,
      `tensors cover ${expected} bytes of a ${dataBytes}-byte data section (${dataBytes - expected} stray bytes)`,
    );
  }
}

function listNames(names: readonly string[], limit = 8): string {
  const shown = names.slice(0, limit).join(', ');
  return names.length > limit ? `${shown}, … (${names.length} in all)` : shown;
}

function toTensorData(dtype: TensorDtype, shape: number[], buffer: ArrayBuffer): TensorData {
  switch (dtype) {
    case 'f32':
      return { dtype, shape, data: new Float32Array(buffer) };
    case 'f16':
    case 'bf16':
      return { dtype, shape, data: new Uint16Array(buffer) };
    case 'i32':
      return { dtype, shape, data: new Int32Array(buffer) };
  }
}

/** f32 values of any float tensor (f16/bf16 widened, f32 returned as is). */
export function toFloat32(tensor: TensorData): Float32Array {
  return toF32(tensor.data, tensor.dtype);
}

async function readTensor(file: string, header: SafetensorsHeader, name: string): Promise<TensorData> {
  const info = header.tensors[name];
  if (info === undefined) throw new CheckpointError(file, 'not in this file', { tensor: name });
  const dtype = (READABLE as Partial<Record<SafetensorsDtype, TensorDtype>>)[info.dtype];
  if (dtype === undefined) {
    throw new CheckpointError(
      file,
      `dtype ${info.dtype} is not supported (readable: ${Object.keys(READABLE).join(', ')})`,
      { tensor: name },
    );
  }
  const [begin, end] = info.dataOffsets;
  const buffer = await readRange(file, header.dataStart + begin, end - begin, name);
  return toTensorData(dtype, [...info.shape], buffer);
}

/** Opens one .safetensors file: validates its header now, reads tensors on demand. */
export async function openSafetensors(file: string): Promise<SafetensorsCheckpoint> {
  assertLittleEndianHost(file);
  const header = await readSafetensorsHeader(file);
  const names = Object.keys(header.tensors).sort(
    (a, b) => (header.tensors[a]?.dataOffsets[0] ?? 0) - (header.tensors[b]?.dataOffsets[0] ?? 0),
  );
  const info = (name: string): CheckpointTensorInfo => {
    const entry = header.tensors[name];
    if (entry === undefined) {
      throw new CheckpointError(file, `not in this file (it has ${listNames(names)})`, { tensor: name });
    }
    return { ...entry, shape: [...entry.shape], dataOffsets: [...entry.dataOffsets], file };
  };
  return {
    path: file,
    metadata: header.metadata,
    names: () => [...names],
    has: (name) => Object.hasOwn(header.tensors, name),
    info,
    read: async (name) => {
      info(name);
      return readTensor(file, header, name);
    },
  };
}

const SINGLE_FILE = 'model.safetensors';
const INDEX_FILE = 'model.safetensors.index.json';
const IndexSchema = z.object({
  metadata: z.record(z.string(), z.unknown()).optional(),
  weight_map: z.record(z.string(), z.string()),
});

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Opens a Hugging Face checkpoint folder: `model.safetensors`, or the shards named by
 * `model.safetensors.index.json` (its weight_map: tensor name -> shard file). A path to a
 * .safetensors file is opened directly.
 */
export async function openCheckpoint(dir: string): Promise<SafetensorsCheckpoint> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(dir)).isDirectory();
  } catch (cause) {
    throw new CheckpointError(dir, `cannot open checkpoint: ${describeFsError(cause)}`, { cause });
  }
  if (!isDirectory) return openSafetensors(dir);

  const indexPath = path.join(dir, INDEX_FILE);
  if (await exists(indexPath)) return openSharded(dir, indexPath);
  const singlePath = path.join(dir, SINGLE_FILE);
  if (await exists(singlePath)) return openSafetensors(singlePath);

  const present = (await readdir(dir)).sort();
  const hint = present.some((name) => name.endsWith('.bin') || name.endsWith('.pt'))
    ? ' (PyTorch .bin/.pt checkpoints are not supported: convert them to safetensors)'
    : '';
  throw new CheckpointError(
    dir,
    `no checkpoint found: expected ${SINGLE_FILE} or ${INDEX_FILE}; the folder has ${
      present.length === 0 ? 'no files' : listNames(present, 12)
    }${hint}`,
  );
}

async function openSharded(dir: string, indexPath: string): Promise<SafetensorsCheckpoint> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(indexPath, 'utf8'));
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new CheckpointError(indexPath, `cannot read the shard index: ${reason}`, { cause });
  }
  const index = IndexSchema.safeParse(raw);
  if (!index.success) {
    throw new CheckpointError(indexPath, `bad shard index: ${describeIssues(index.error)}`);
  }
  const weightMap = index.data.weight_map;

  const shardNames = [...new Set(Object.values(weightMap))].sort();
  const root = path.resolve(dir);
  for (const shard of shardNames) {
    // The index is data: a shard name must not reach outside the checkpoint folder.
    if (path.dirname(path.resolve(root, shard)) !== root) {
      throw new CheckpointError(indexPath, `shard '${shard}' is not a file name inside the checkpoint folder`);
    }
  }
  const missing: string[] = [];
  for (const shard of shardNames) if (!(await exists(path.join(dir, shard)))) missing.push(shard);
  if (missing.length > 0) {
    throw new CheckpointError(
      dir,
      `${INDEX_FILE} names ${shardNames.length} shard(s), ${missing.length} missing: ${listNames(missing, 12)}`,
    );
  }

  const shards = await Promise.all(shardNames.map((shard) => openSafetensors(path.join(dir, shard))));
  const owner = new Map<string, SafetensorsCheckpoint>();
  const names: string[] = [];
  for (const [shardIndex, shard] of shards.entries()) {
    const shardName = shardNames[shardIndex];
    for (const name of shard.names()) {
      if (weightMap[name] === shardName) {
        owner.set(name, shard);
        names.push(name);
      }
    }
  }
  const absent = Object.keys(weightMap).filter((name) => !owner.has(name));
  if (absent.length > 0) {
    const details = absent.slice(0, 8).map((name) => `'${name}' (in ${weightMap[name]})`);
    throw new CheckpointError(
      dir,
      `${INDEX_FILE} maps ${absent.length} tensor(s) to shards that do not hold them: ${listNames(details)}`,
    );
  }

  const shardOf = (name: string): SafetensorsCheckpoint => {
    const shard = owner.get(name);
    if (shard === undefined) {
      throw new CheckpointError(dir, `not in this checkpoint (it has ${listNames(names)})`, { tensor: name });
    }
    return shard;
  };
  return {
    path: dir,
    metadata: shards[0]?.metadata,
    names: () => [...names],
    has: (name) => owner.has(name),
    info: (name) => shardOf(name).info(name),
    read: (name) => shardOf(name).read(name),
  };
}

const ARRAY_TYPE: Record<TensorDtype, typeof Float32Array | typeof Uint16Array | typeof Int32Array> = {
  f32: Float32Array,
  f16: Uint16Array,
  bf16: Uint16Array,
  i32: Int32Array,
};
const MAX_WRITE_CHUNK = 1 << 30;

function checkTensorData(file: string, name: string, tensor: TensorData): void {
  if (name === '' || name === METADATA_KEY) {
    throw new CheckpointError(file, `'${name}' is not a valid tensor name`);
  }
  if (!Object.hasOwn(HEADER_DTYPE, tensor.dtype)) {
    throw new CheckpointError(file, `cannot write dtype '${String(tensor.dtype)}'`, { tensor: name });
  }
  if (!(tensor.data instanceof ARRAY_TYPE[tensor.dtype])) {
    throw new CheckpointError(
      file,
      `${tensor.dtype} data must be a ${ARRAY_TYPE[tensor.dtype].name}, got ${tensor.data.constructor.name}`,
      { tensor: name },
    );
  }
  if (!tensor.shape.every((dim) => Number.isSafeInteger(dim) && dim >= 0)) {
    throw new CheckpointError(file, `invalid shape ${formatShape(tensor.shape)}`, { tensor: name });
  }
  if (elementCount(tensor.shape) !== tensor.data.length) {
    throw new CheckpointError(
      file,
      `shape ${formatShape(tensor.shape)} has ${elementCount(tensor.shape)} elements, data has ${tensor.data.length}`,
      { tensor: name },
    );
  }
}

/**
 * Writes a safetensors file: tensors in the given order, the header padded with spaces to a
 * multiple of 8 bytes (as the Rust writer does, so the data section is 8-aligned). Tensor bytes
 * are streamed from the caller's arrays, never concatenated. The file is written beside `file`
 * and renamed into place, so a failed write never leaves a half-written checkpoint.
 */
export async function writeSafetensors(
  file: string,
  tensors: Record<string, TensorData>,
  metadata?: Record<string, string>,
): Promise<void> {
  assertLittleEndianHost(file);
  const entries = Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    const parsed = MetadataSchema.safeParse(metadata);
    if (!parsed.success) {
      throw new CheckpointError(file, `metadata must map strings to strings: ${describeIssues(parsed.error)}`);
    }
    header[METADATA_KEY] = parsed.data;
  }
  let offset = 0;
  for (const [name, tensor] of entries) {
    checkTensorData(file, name, tensor);
    const end = offset + tensor.data.byteLength;
    header[name] = { dtype: HEADER_DTYPE[tensor.dtype], shape: tensor.shape, data_offsets: [offset, end] };
    offset = end;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.byteLength / 8) * 8;
  const prefix = new Uint8Array(8 + headerLength).fill(0x20);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(headerLength), true);
  prefix.set(json, 8);

  const temporary = `${file}.tmp-${process.pid}-${Date.now()}`;
  let handle;
  try {
    handle = await open(temporary, 'w');
  } catch (cause) {
    throw new CheckpointError(file, `cannot write: ${describeFsError(cause)}`, { cause });
  }
  try {
    let position = 0;
    const writeAll = async (bytes: Uint8Array): Promise<void> => {
      for (let done = 0; done < bytes.byteLength; ) {
        const length = Math.min(MAX_WRITE_CHUNK, bytes.byteLength - done);
        const { bytesWritten } = await handle.write(bytes, done, length, position);
        done += bytesWritten;
        position += bytesWritten;
      }
    };
    await writeAll(prefix);
    for (const [, tensor] of entries) {
      await writeAll(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength));
    }
    await handle.close();
    await rename(temporary, file);
  } catch (cause) {
    await handle.close().catch(() => undefined);
    await unlink(temporary).catch(() => undefined);
    if (cause instanceof CheckpointError) throw cause;
    throw new CheckpointError(file, `write failed: ${describeFsError(cause)}`, { cause });
  }
}
