/**
 * GGUF reader: metadata, tensor infos, and tensors dequantised to float32 on demand.
 *
 * The container (magic, version, typed key/values, tensor infos, `general.alignment`) is parsed by
 * @huggingface/gguf, which reads a local file in 2 MB chunks until the header is done and gives
 * each tensor's dims, type and offset. It does not bound-check against the file: a local file
 * that ends inside the header is read as if zero-padded. So everything it returns is checked
 * here against the real file size before any tensor is read. Spec:
 * https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
 *
 * GGUF stores dims innermost-first (ggml's ne[0] is the contiguous row length); `shape` here is
 * reversed into PyTorch order, so a [vocab, hidden] embedding reads as [vocab, hidden].
 */
import { stat } from 'node:fs/promises';
import { gguf, type GGUFParseOutput, type MetadataValue } from '@huggingface/gguf';
import {
  DEQUANTIZABLE_TYPES,
  dequantize,
  GGML_TYPES,
  ggmlByteLength,
  ggmlType,
  isDequantizable,
  type GgmlTypeName,
} from './dequant';
import { CheckpointError } from './errors';
import { assertLittleEndianHost, describeFsError, readRange } from './fileio';

/** A metadata value. 64-bit integers become numbers when they are safe integers, else stay bigint. */
export type GgufValue = string | number | bigint | boolean | GgufValue[];

export interface GgufTensorInfo {
  name: string;
  /** PyTorch order (GGUF dims reversed). */
  shape: number[];
  /** GGML type id as stored in the file. */
  ggmlType: number;
  typeName: GgmlTypeName;
  /** Absolute offset of the tensor's first byte in the file. */
  offset: number;
  byteLength: number;
}

export interface GgufFile {
  readonly path: string;
  readonly version: number;
  /** Alignment of the data section and of every tensor (general.alignment, default 32). */
  readonly alignment: number;
  /** Absolute offset of the data section. */
  readonly dataOffset: number;
  /** Key/values, e.g. 'general.architecture', 'llama.embedding_length', 'tokenizer.ggml.tokens'. */
  readonly metadata: Record<string, GgufValue>;
  /** Tensor infos in header order. */
  readonly tensors: readonly GgufTensorInfo[];
  has(name: string): boolean;
  info(name: string): GgufTensorInfo;
  /** One tensor's values, dequantised to float32; reads only that tensor's bytes. */
  read(name: string): Promise<Float32Array>;
  /** One tensor's stored bytes, undecoded (e.g. to keep F16 as f16). */
  readRaw(name: string): Promise<Uint8Array>;
}

const DEFAULT_ALIGNMENT = 32;
/** Keys @huggingface/gguf adds to `metadata` from the fixed header; they are not key/values. */
const HEADER_FIELDS = new Set(['version', 'tensor_count', 'kv_count']);

function toGgufValue(value: MetadataValue): GgufValue {
  if (Array.isArray(value)) return value.map(toGgufValue);
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }
  return value;
}

function byteCount(value: bigint, what: string, file: string, tensor: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new CheckpointError(file, `${what} ${value} is beyond any real file`, { tensor });
  }
  return Number(value);
}

/** Opens a .gguf file: parses and validates its header now, reads tensors on demand. */
export async function openGguf(file: string): Promise<GgufFile> {
  assertLittleEndianHost(file);
  let fileSize: number;
  try {
    fileSize = (await stat(file)).size;
  } catch (cause) {
    throw new CheckpointError(file, `cannot open: ${describeFsError(cause)}`, { cause });
  }
  let parsed: GGUFParseOutput<{ strict: false }>;
  try {
    parsed = await gguf(file, { allowLocalFile: true });
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new CheckpointError(file, `not a readable GGUF file: ${reason}`, { cause });
  }
  if (!parsed.littleEndian) {
    throw new CheckpointError(file, 'big-endian GGUF files are not supported');
  }

  const metadata: Record<string, GgufValue> = {};
  for (const [key, value] of Object.entries(parsed.metadata)) {
    if (!HEADER_FIELDS.has(key) && value !== undefined) metadata[key] = toGgufValue(value);
  }
  const version = Number(parsed.metadata.version);
  const alignment = typeof metadata['general.alignment'] === 'number' ? metadata['general.alignment'] : DEFAULT_ALIGNMENT;
  const dataOffset = Number(parsed.tensorDataOffset);
  if (dataOffset > fileSize) {
    throw new CheckpointError(
      file,
      `header ends at byte ${dataOffset} but the file has ${fileSize} bytes (truncated?)`,
    );
  }

  const tensors: GgufTensorInfo[] = [];
  const byName = new Map<string, GgufTensorInfo>();
  for (const raw of parsed.tensorInfos) {
    const { name } = raw;
    if (byName.has(name)) throw new CheckpointError(file, 'appears twice in the header', { tensor: name });
    const type = ggmlType(raw.dtype);
    if (type === undefined) {
      throw new CheckpointError(
        file,
        `unknown GGML type id ${raw.dtype} (known: ${Object.keys(GGML_TYPES).join(', ')})`,
        { tensor: name },
      );
    }
    const shape = raw.shape.map((dim) => byteCount(dim, 'dimension', file, name)).reverse();
    const count = shape.reduce((product, dim) => product * dim, 1);
    let byteLength: number;
    try {
      // ggml quantises along rows: the innermost dim must hold whole blocks.
      if ((shape.at(-1) ?? 1) % type.blockSize !== 0) throw new RangeError('rows are not whole blocks');
      byteLength = ggmlByteLength(type, count);
    } catch {
      throw new CheckpointError(
        file,
        `shape [${shape.join(',')}] does not split into ${type.blockSize}-element ${type.name} blocks`,
        { tensor: name },
      );
    }
    const relative = byteCount(raw.offset, 'offset', file, name);
    if (relative % alignment !== 0) {
      throw new CheckpointError(file, `offset ${relative} is not a multiple of the alignment ${alignment}`, {
        tensor: name,
      });
    }
    const offset = dataOffset + relative;
    if (offset + byteLength > fileSize) {
      throw new CheckpointError(
        file,
        `${type.name} [${shape.join(',')}] spans bytes ${offset}..${offset + byteLength} but the file has ${fileSize} (truncated?)`,
        { tensor: name },
      );
    }
    const info: GgufTensorInfo = { name, shape, ggmlType: type.id, typeName: type.name, offset, byteLength };
    tensors.push(info);
    byName.set(name, info);
  }
  const byOffset = [...tensors].sort((a, b) => a.offset - b.offset || a.byteLength - b.byteLength);
  for (let i = 1; i < byOffset.length; i++) {
    const previous = byOffset[i - 1];
    const current = byOffset[i];
    if (previous !== undefined && current !== undefined && current.offset < previous.offset + previous.byteLength) {
      throw new CheckpointError(file, `bytes overlap tensor '${previous.name}'`, { tensor: current.name });
    }
  }

  const info = (name: string): GgufTensorInfo => {
    const found = byName.get(name);
    if (found === undefined) {
      const some = tensors.slice(0, 8).map((t) => t.name);
      throw new CheckpointError(file, `not in this file (it has ${tensors.length}: ${some.join(', ')}…)`, {
        tensor: name,
      });
    }
    return { ...found, shape: [...found.shape] };
  };
  const readRaw = async (name: string): Promise<Uint8Array> => {
    const { offset, byteLength } = info(name);
    return new Uint8Array(await readRange(file, offset, byteLength, name));
  };
  return {
    path: file,
    version,
    alignment,
    dataOffset,
    metadata,
    tensors: tensors.map((t) => ({ ...t, shape: [...t.shape] })),
    has: (name) => byName.has(name),
    info,
    readRaw,
    read: async (name) => {
      const { typeName, shape } = info(name);
      if (!isDequantizable(typeName)) {
        throw new CheckpointError(
          file,
          `GGML type ${typeName} (id ${GGML_TYPES[typeName].id}) cannot be dequantised (supported: ${DEQUANTIZABLE_TYPES.join(', ')})`,
          { tensor: name },
        );
      }
      const bytes = await readRaw(name);
      const count = shape.reduce((product, dim) => product * dim, 1);
      // F32 needs no decoding: view the fresh buffer instead of copying it.
      if (typeName === 'F32') return new Float32Array(bytes.buffer, bytes.byteOffset, count);
      return dequantize(typeName, bytes, count);
    },
  };
}
