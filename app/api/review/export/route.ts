import { ExportQuery } from '@/lib/api/review';
import { getReviewStore } from '@/server/review/instance';
import { jsonGet } from '@/server/review/http';
import { exportFileName } from '@/server/review/service';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** GET /api/review/export?import=&status=accepted: the validated set, in the imported format, as a download. */
export function GET(request: Request): Promise<Response> {
  return jsonGet(request, ExportQuery, (query) => {
    const { summary, records } = getReviewStore().exportRecords(query.import, query.status);
    return new Response(JSON.stringify(records, null, 1), {
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'content-disposition': `attachment; filename="${exportFileName(summary.name, query.status)}"`,
      },
    });
  });
}
