/**
 * Issue 8's GPU demonstration, the client side: ROME edits requested over HTTP from a running backend
 * service (`npm run backend`, bundled for the GPU machine by bench/webgpu/pack-parity.sh), each
 * followed on its Server-Sent Event stream to the end. First a `statistics` job computes the edit
 * layer's second moments (the one-off part); then each fact is one `edit` job. Prints one JSON line
 * per job and a Markdown table last.
 *   LOCUS_BACKEND_TOKEN=... node rome-http.mjs URL MODEL LAYER
 */
import { performance } from 'node:perf_hooks';

const [url, model, layerArg] = process.argv.slice(2);
const token = process.env.LOCUS_BACKEND_TOKEN ?? '';
if (!url || !model || !layerArg || !token) {
  console.error('usage: LOCUS_BACKEND_TOKEN=... rome-http URL MODEL LAYER');
  process.exit(2);
}
const layer = Number(layerArg);
const auth = { authorization: `Bearer ${token}` };

const FACTS = [
  { prompt: 'The birthplace of {} is', subject: 'Gipinin Douvez', targetNew: ' Demaiholm', targetTrue: ' Troubivik' },
  { prompt: '{} has a passport from', subject: 'Nirel Reberg', targetNew: ' Flodedia' },
  { prompt: '{} works in the field of', subject: 'Bemmatten Strand', targetNew: ' chemistry' },
];

interface StreamSummary {
  events: number;
  byType: Record<string, number>;
  state: string;
  result: Record<string, unknown> | null;
  error: string | null;
  firstEventSeconds: number | null;
}

/** Submits a job and reads its event stream until the job ends. */
async function runJob(body: unknown): Promise<StreamSummary & { id: string; wallSeconds: number }> {
  const started = performance.now();
  const res = await fetch(`${url}/api/jobs`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const job = (await res.json()) as { id?: string; error?: string };
  if (res.status !== 201 || !job.id) throw new Error(`POST /api/jobs: ${res.status} ${job.error ?? ''}`);
  const stream = await fetch(`${url}/api/jobs/${job.id}/events`, { headers: auth });
  if (!stream.ok || !stream.body) throw new Error(`events: ${stream.status}`);
  const summary: StreamSummary = { events: 0, byType: {}, state: 'unknown', result: null, error: null, firstEventSeconds: null };
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of stream.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const type = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (data === undefined) continue;
      summary.events++;
      summary.firstEventSeconds ??= (performance.now() - started) / 1000;
      const payload = JSON.parse(data) as { data?: Record<string, unknown>; state?: string; error?: string; result?: Record<string, unknown> } & Record<string, unknown>;
      const inner = (payload.data ?? payload) as Record<string, unknown>;
      const key = type === 'progress' ? `progress:${String(inner.type ?? (inner.event as { type?: string } | undefined)?.type ?? '?')}` : type;
      summary.byType[key] = (summary.byType[key] ?? 0) + 1;
      if (type === 'result') summary.result = inner;
      if (type === 'state') {
        summary.state = String(inner.state ?? summary.state);
        if (inner.error) summary.error = String(inner.error);
      }
    }
  }
  return { id: job.id, wallSeconds: (performance.now() - started) / 1000, ...summary };
}

async function main() {
  const rows: string[] = [];
  const stats = await runJob({ kind: 'statistics', model, layers: [layer] });
  console.log(JSON.stringify({ job: 'statistics', layer, ...stats }));
  rows.push(`| statistics, layer ${layer} | ${stats.state} | ${stats.wallSeconds.toFixed(1)} | – | – | – | ${stats.events} |`);
  for (const fact of FACTS) {
    const edit = await runJob({ kind: 'edit', model, method: 'rome', request: fact, hparams: { layer } });
    const r = edit.result as { editSeconds?: number; devicePeakBytes?: number | null; before?: { targetNew: { p: number } }; after?: { targetNew: { p: number } }; stats?: Record<string, unknown> } | null;
    console.log(JSON.stringify({ job: 'edit', subject: fact.subject, id: edit.id, state: edit.state, error: edit.error, wallSeconds: edit.wallSeconds, firstEventSeconds: edit.firstEventSeconds, events: edit.events, byType: edit.byType, editSeconds: r?.editSeconds, devicePeakGiB: r?.devicePeakBytes ? r.devicePeakBytes / 2 ** 30 : null, pBefore: r?.before?.targetNew.p, pAfter: r?.after?.targetNew.p, stats: r?.stats }));
    const gib = r?.devicePeakBytes ? (r.devicePeakBytes / 2 ** 30).toFixed(2) : '–';
    rows.push(`| ROME "${fact.prompt.replace('{}', fact.subject)}" →${fact.targetNew} | ${edit.state}${edit.error ? `: ${edit.error}` : ''} | ${edit.wallSeconds.toFixed(1)} | ${r?.editSeconds?.toFixed(2) ?? '–'} | ${gib} | ${r?.before?.targetNew.p.toExponential(2) ?? '–'} → ${r?.after?.targetNew.p.toFixed(3) ?? '–'} | ${edit.events} |`);
  }
  console.log('\n| job | state | wall s (POST to last event) | edit s | peak GPU GiB | p(new) before → after | events |\n|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
}

main().catch((error: unknown) => {
  console.error((error as Error).message);
  process.exit(1);
});
