import { PredictRequest } from '@/lib/api/predict';
import { jsonPost } from '@/server/backend/http';
import { getHub } from '@/server/backend/instance';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** POST /api/predict: PredictRequest -> PredictResponse (lib/api/predict.ts). */
export function POST(request: Request): Promise<Response> {
  return jsonPost(request, PredictRequest, (input) => getHub().predict(input));
}
