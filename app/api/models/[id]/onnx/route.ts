import { ONNX_VERSION_HEADER } from '@/lib/api/onnx';
import { failure } from '@/server/backend/http';
import { getHub } from '@/server/backend/instance';
import { modelOnnx } from '@/server/onnx';

export const runtime = 'nodejs';
// The weights change with every applied or reverted edit.
export const dynamic = 'force-dynamic';

/**
 * GET /api/models/{id}/onnx: the model as loaded now (base + applied edits) as ONNX with the causal
 * trace inputs (lib/onnx/interface.ts), for tracing in the browser. 400 for a family without an
 * exporter, 413 over LOCUS_ONNX_MAX_MB; the X-Locus-Version header names the version.
 */
export async function GET(_request: Request, { params }: { params: Promise<{ id: string }> }): Promise<Response> {
  try {
    const id = (await params).id;
    const { bytes, version } = await modelOnnx(getHub(), id);
    return new Response(bytes as Uint8Array<ArrayBuffer>, {
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(bytes.byteLength),
        'Content-Disposition': `attachment; filename="${id}-${version}.onnx"`,
        'Cache-Control': 'no-store',
        [ONNX_VERSION_HEADER]: version,
      },
    });
  } catch (err) {
    return failure(err);
  }
}
