import { failure } from '@/server/backend/http';
import { getReviewStore } from '@/server/review/instance';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** GET /api/review/imports: every import, newest first (ImportsResponse). */
export function GET(): Response {
  try {
    return Response.json({ imports: getReviewStore().listImports() });
  } catch (err) {
    return failure(err);
  }
}
