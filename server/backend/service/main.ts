/**
 * `npm run backend`: the standalone backend service (./server.ts) on LOCUS_BACKEND_PORT (default
 * 4000) and LOCUS_BACKEND_HOST (default 127.0.0.1). LOCUS_BACKEND_TOKEN is required; jobs and the
 * model list come from the same environment as the studio (LOCUS_DATA_DIR, LOCUS_JOB_CONCURRENCY,
 * LOCUS_MAX_PENDING_JOBS, LOCUS_MODEL_ROOTS). With REDIS_URL, it also takes evaluation jobs from the
 * shared BullMQ queue (server/jobs/distributed.ts), as every other backend on that Redis does.
 */
import { hostname } from 'node:os';
import { startWorker } from '../../jobs/distributed';
import { getJobs, redisOptions } from '../../jobs/instance';
import { createService } from './server';

const token = process.env.LOCUS_BACKEND_TOKEN ?? '';
if (!token) {
  process.stderr.write('locus backend: set LOCUS_BACKEND_TOKEN (the bearer token clients must send); it refuses to run without one\n');
  process.exit(2);
}
const port = Number(process.env.LOCUS_BACKEND_PORT ?? 4000);
const host = process.env.LOCUS_BACKEND_HOST ?? '127.0.0.1';
const maxBodyBytes = Number(process.env.LOCUS_MAX_BODY_BYTES) || undefined;
// Open the job store now: jobs a previous process left unfinished are marked at start, not at the first request.
getJobs();
const server = createService({ token, maxBodyBytes });
const name = process.env.LOCUS_BACKEND_NAME ?? `${hostname()}:${process.pid}`;
const worker = process.env.REDIS_URL ? startWorker(redisOptions(process.env.REDIS_URL), getJobs(), name) : null;
worker?.on('error', (error) => process.stderr.write(`locus backend: redis: ${error.message}\n`));
server.listen(port, host, () => process.stdout.write(`locus backend ${name} listening on http://${host}:${port}${worker ? ', taking evaluations from Redis' : ''}\n`));
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    server.close();
    void Promise.resolve(worker?.close())
      .then(() => getJobs().close())
      .finally(() => process.exit(0));
  });
}
