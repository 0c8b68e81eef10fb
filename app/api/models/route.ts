import { getHub } from '@/server/backend/instance';
import { failure } from '@/server/backend/http';

export const runtime = 'nodejs';
// Per request: the answer reports which models this server has loaded now.
export const dynamic = 'force-dynamic';

/** GET /api/models: ModelsResponse (lib/api/models.ts). */
export async function GET(): Promise<Response> {
  try {
    return Response.json(await getHub().list());
  } catch (err) {
    return failure(err);
  }
}
