import { failure } from '@/server/backend/http';
import { getCatalog } from '@/server/eval/catalog';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** GET /api/datasets: DatasetsResponse (lib/api/benchmarks.ts), the datasets an evaluation can run on. */
export async function GET(): Promise<Response> {
  try {
    return Response.json({ datasets: await getCatalog().list() });
  } catch (err) {
    return failure(err);
  }
}
