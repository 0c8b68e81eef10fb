import { ImportQuery } from '@/lib/api/review';
import { getReviewStore } from '@/server/review/instance';
import { jsonGet } from '@/server/review/http';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** GET /api/review/agreement?import=: agreement between the import's reviewers (Agreement). */
export function GET(request: Request): Promise<Response> {
  return jsonGet(request, ImportQuery, (query) => getReviewStore().agreement(query.import));
}
