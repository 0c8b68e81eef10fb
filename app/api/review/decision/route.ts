import { DecisionRequest } from '@/lib/api/review';
import { jsonPost } from '@/server/backend/http';
import { getReviewStore } from '@/server/review/instance';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** POST /api/review/decision: DecisionRequest -> {progress}; deciding again replaces the reviewer's decision. */
export function POST(request: Request): Promise<Response> {
  return jsonPost(request, DecisionRequest, async ({ import: importId, item, ...decision }) => {
    const store = getReviewStore();
    store.decide(importId, item, decision);
    return { progress: store.progress(importId, decision.reviewer) };
  });
}
