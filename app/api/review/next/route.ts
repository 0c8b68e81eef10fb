import { NextQuery } from '@/lib/api/review';
import { getReviewStore } from '@/server/review/instance';
import { jsonGet } from '@/server/review/http';
import { nextItem } from '@/server/review/service';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** GET /api/review/next?import=&reviewer=&after=: the reviewer's next undecided item (NextResponse). */
export function GET(request: Request): Promise<Response> {
  return jsonGet(request, NextQuery, (query) => nextItem(getReviewStore(), query));
}
