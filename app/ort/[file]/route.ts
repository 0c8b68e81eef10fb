import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { errorResponse } from '@/server/backend/http';

export const runtime = 'nodejs';

/**
 * GET /ort/{file}: onnxruntime-web's WebAssembly binaries, straight from node_modules (workers/
 * trace.worker.ts sets ort.env.wasm.wasmPaths to /ort/). Served with application/wasm, which
 * WebAssembly.instantiateStreaming requires; only the files the worker's build can ask for.
 */
const FILES = new Set(['ort-wasm-simd-threaded.jsep.wasm']);
const DIST = path.join(process.cwd(), 'node_modules', 'onnxruntime-web', 'dist');

export async function GET(_request: Request, { params }: { params: Promise<{ file: string }> }): Promise<Response> {
  const { file } = await params;
  if (!FILES.has(file)) return errorResponse(404, `No onnxruntime-web file ${JSON.stringify(file)}; served: ${[...FILES].join(', ')}`);
  const location = path.join(DIST, file);
  let size: number;
  try {
    size = (await stat(location)).size;
  } catch {
    return errorResponse(500, `${file} is missing from node_modules/onnxruntime-web/dist; run npm install`);
  }
  return new Response(Readable.toWeb(createReadStream(location)) as ReadableStream<Uint8Array>, {
    headers: { 'Content-Type': 'application/wasm', 'Content-Length': String(size), 'Cache-Control': 'public, max-age=86400' },
  });
}
