import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SERVED } from '../../server/backend/service/routes';
import { servedByBackend } from './backend-routes';

/** Every app/api route folder as a path pattern ([id] kept). */
function appRoutes(dir = 'app/api', prefix = '/api'): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (!statSync(full).isDirectory()) continue;
    const route = `${prefix}/${name}`;
    if (readdirSync(full).includes('route.ts')) out.push(route);
    out.push(...appRoutes(full, route));
  }
  return out;
}

describe('routes of the standalone backend', () => {
  it('the app forwards exactly the routes the backend serves', () => {
    const routes = appRoutes();
    expect(routes.length).toBeGreaterThan(15);
    const forwarded = routes.filter(servedByBackend).sort();
    expect(forwarded).toEqual([...SERVED].sort());
  });

  it('keeps health and the review storage in the app', () => {
    expect(servedByBackend('/api/health')).toBe(false);
    expect(servedByBackend('/api/review/next')).toBe(false);
    expect(servedByBackend('/api/review/check')).toBe(true);
    expect(servedByBackend('/api/jobs/abc/events')).toBe(true);
    expect(servedByBackend('/benchmarks')).toBe(false);
  });
});
