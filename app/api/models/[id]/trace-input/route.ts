import { traceRequestSchema } from '@/lib/tracing/schema';
import { jsonPost } from '@/server/backend/http';
import { getHub } from '@/server/backend/instance';
import { browserTraceInput } from '@/server/onnx';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** POST /api/models/{id}/trace-input: TraceRequest -> BrowserTraceInput (lib/api/onnx.ts), what a
 * trace in the browser needs from the server besides the ONNX file. */
export async function POST(request: Request, { params }: { params: Promise<{ id: string }> }): Promise<Response> {
  const id = (await params).id;
  return jsonPost(request, traceRequestSchema, (input) => browserTraceInput(getHub(), id, input));
}
