import { ImportRequest } from '@/lib/api/review';
import { jsonPost } from '@/server/backend/http';
import { getReviewStore } from '@/server/review/instance';
import { importFile } from '@/server/review/service';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** POST /api/review/import: {source} or {name, data} -> ImportSummary (201); 400 names what is wrong with the file. */
export function POST(request: Request): Promise<Response> {
  return jsonPost(request, ImportRequest, (input) => importFile(getReviewStore(), input), 201);
}
