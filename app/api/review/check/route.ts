import { CheckRequest } from '@/lib/api/review';
import { jsonPost } from '@/server/backend/http';
import { getHub } from '@/server/backend/instance';
import { getReviewStore } from '@/server/review/instance';
import { runChecks } from '@/server/review/service';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** POST /api/review/check: {import, model, items} -> each item's knowledge check (CheckResponse). */
export function POST(request: Request): Promise<Response> {
  return jsonPost(request, CheckRequest, (input) => runChecks(getReviewStore(), getHub(), input));
}
