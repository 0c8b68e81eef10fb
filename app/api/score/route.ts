import { ScoreRequest } from '@/lib/api/score';
import { jsonPost } from '@/server/backend/http';
import { getHub } from '@/server/backend/instance';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** POST /api/score: ScoreRequest -> ScoreResponse (lib/api/score.ts). */
export function POST(request: Request): Promise<Response> {
  return jsonPost(request, ScoreRequest, (input) => getHub().score(input));
}
