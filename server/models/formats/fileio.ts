import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { CheckpointError } from './errors';

/**
 * fs.read takes at most 2 GiB - 1 per call (and may return fewer bytes than asked), so large
 * tensors (a 128k x 4096 f32 embedding is 2 GiB) are read in chunks.
 */
const MAX_READ_CHUNK = 1 << 30;

/**
 * Reads exactly `target.byteLength` bytes at `position`, or throws: a short read means the file
 * ended early (truncated, or changed since its header was validated).
 */
export async function readExactly(
  handle: FileHandle,
  target: Uint8Array,
  position: number,
  file: string,
  tensor?: string,
): Promise<void> {
  let done = 0;
  while (done < target.byteLength) {
    const length = Math.min(MAX_READ_CHUNK, target.byteLength - done);
    const { bytesRead } = await handle.read(target, done, length, position + done);
    if (bytesRead === 0) {
      throw new CheckpointError(
        file,
        `file ended at byte ${position + done}, expected ${target.byteLength} bytes from ${position} (truncated?)`,
        { tensor },
      );
    }
    done += bytesRead;
  }
}

/**
 * Reads `byteLength` bytes at `position` into a fresh, exactly-sized ArrayBuffer, so typed
 * arrays over it are aligned and own their memory (no Buffer pool slices).
 */
export async function readRange(
  file: string,
  position: number,
  byteLength: number,
  tensor?: string,
): Promise<ArrayBuffer> {
  const buffer = new ArrayBuffer(byteLength);
  await withFile(file, (handle) => readExactly(handle, new Uint8Array(buffer), position, file, tensor));
  return buffer;
}

/**
 * Opens `file` for reading for the duration of `action`. Readers open per read rather than
 * holding descriptors, so a checkpoint object needs no close() and cannot leak handles.
 */
export async function withFile<T>(file: string, action: (handle: FileHandle) => Promise<T>): Promise<T> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (cause) {
    throw new CheckpointError(file, `cannot open: ${describeFsError(cause)}`, { cause });
  }
  try {
    return await action(handle);
  } finally {
    await handle.close();
  }
}

export function describeFsError(error: unknown): string {
  if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return 'no such file';
  return error instanceof Error ? error.message : String(error);
}

/** All typed-array views here assume a little-endian host (x86-64, arm64), like the formats. */
export function assertLittleEndianHost(file: string): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new CheckpointError(file, 'big-endian hosts are not supported');
  }
}
