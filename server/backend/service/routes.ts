/**
 * The routes the standalone backend serves: the app's own route handlers (app/api), so the studio's
 * API has one implementation whether it runs inside Next.js or on a GPU machine. Everything that
 * computes with a model is here; the review queue's storage stays with the app (it is the
 * annotators' data, not the backend's), as does the app's health check.
 */
import * as benchmarks from '../../../app/api/benchmarks/route';
import * as datasetCases from '../../../app/api/datasets/[id]/cases/route';
import * as datasets from '../../../app/api/datasets/route';
import * as jobCancel from '../../../app/api/jobs/[id]/cancel/route';
import * as jobEvents from '../../../app/api/jobs/[id]/events/route';
import * as jobRerun from '../../../app/api/jobs/[id]/rerun/route';
import * as job from '../../../app/api/jobs/[id]/route';
import * as jobs from '../../../app/api/jobs/route';
import * as onnx from '../../../app/api/models/[id]/onnx/route';
import * as traceInput from '../../../app/api/models/[id]/trace-input/route';
import * as revert from '../../../app/api/models/[id]/versions/[editId]/revert/route';
import * as versions from '../../../app/api/models/[id]/versions/route';
import * as models from '../../../app/api/models/route';
import * as predict from '../../../app/api/predict/route';
import * as check from '../../../app/api/review/check/route';
import * as score from '../../../app/api/score/route';

type Params = Record<string, string>;
export type Handler = (request: Request, context: { params: Promise<Params> }) => Response | Promise<Response>;
// Each handler names its own params ({id}, {id, editId}); the pattern's names are what it gets.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyHandler = (request: Request, context: { params: Promise<any> }) => Response | Promise<Response>;
interface RouteModule {
  GET?: AnyHandler;
  POST?: AnyHandler;
}

/** Path patterns as the app's folders name them ([id] is one path segment). */
const TABLE: [string, RouteModule][] = [
  ['/api/models', models],
  ['/api/models/[id]/versions', versions],
  ['/api/models/[id]/versions/[editId]/revert', revert],
  ['/api/models/[id]/onnx', onnx],
  ['/api/models/[id]/trace-input', traceInput],
  ['/api/predict', predict],
  ['/api/score', score],
  ['/api/jobs', jobs],
  ['/api/jobs/[id]', job],
  ['/api/jobs/[id]/events', jobEvents],
  ['/api/jobs/[id]/cancel', jobCancel],
  ['/api/jobs/[id]/rerun', jobRerun],
  ['/api/datasets', datasets],
  ['/api/datasets/[id]/cases', datasetCases],
  ['/api/benchmarks', benchmarks],
  ['/api/review/check', check],
];

const ROUTES = TABLE.map(([pattern, module]) => {
  const names: string[] = [];
  const source = pattern.replace(/\[(\w+)\]/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { pattern, regex: new RegExp(`^${source}$`), names, module };
});

export type Match = { handler: Handler; params: Params } | { status: 404 | 405; allow?: string };

/** The handler for a method and path, with its path parameters (decoded), or why there is none. */
export function matchRoute(method: string, pathname: string): Match {
  for (const route of ROUTES) {
    const m = route.regex.exec(pathname);
    if (!m) continue;
    const handler = method === 'GET' || method === 'HEAD' ? route.module.GET : method === 'POST' ? route.module.POST : undefined;
    if (!handler) return { status: 405, allow: (['GET', 'POST'] as const).filter((k) => route.module[k]).join(', ') };
    let params: Params;
    try {
      params = Object.fromEntries(route.names.map((name, i) => [name, decodeURIComponent(m[i + 1]!)]));
    } catch {
      return { status: 404 };
    }
    return { handler, params };
  }
  return { status: 404 };
}

/** The path patterns served (for the proxy of the app and the service's own index). */
export const SERVED = TABLE.map(([pattern]) => pattern);
