import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { killGroup, startProcess } from '../server/testing/processes';

/**
 * The app as a front end of a standalone backend (LOCUS_BACKEND_URL): this test starts its own
 * backend and a second app server pointed at it, and drives the studio through them.
 */
const TOKEN = 'e2e-backend-token';
const BACKEND_PORT = 3191;
const APP_PORT = 3192;

let backend: ChildProcess;
let app: ChildProcess;
let dataDir: string;

test.beforeAll(async () => {
  test.setTimeout(120_000);
  dataDir = mkdtempSync(path.join(tmpdir(), 'locus-e2e-backend-'));
  backend = await startProcess(
    path.resolve('node_modules/.bin/tsx'),
    ['server/backend/service/main.ts'],
    { LOCUS_BACKEND_TOKEN: TOKEN, LOCUS_BACKEND_PORT: String(BACKEND_PORT), LOCUS_DATA_DIR: path.join(dataDir, 'backend') },
    /listening/,
  );
  app = await startProcess(
    path.resolve('node_modules/.bin/next'),
    ['start', '-p', String(APP_PORT)],
    { LOCUS_BACKEND_URL: `http://127.0.0.1:${BACKEND_PORT}`, LOCUS_BACKEND_TOKEN: TOKEN, LOCUS_DATA_DIR: path.join(dataDir, 'app') },
    /Ready/,
  );
});

test.afterAll(() => {
  killGroup(app);
  killGroup(backend);
  rmSync(dataDir, { recursive: true, force: true });
});

test('with LOCUS_BACKEND_URL the studio runs its model work on the backend, which holds the token', async ({ page, request }) => {
  test.setTimeout(120_000);
  const appUrl = `http://127.0.0.1:${APP_PORT}`;
  const backendUrl = `http://127.0.0.1:${BACKEND_PORT}`;
  expect((await request.get(`${backendUrl}/api/models`)).status()).toBe(401);

  const sent: string[] = [];
  page.on('request', (r) => {
    const auth = r.headers().authorization;
    if (auth) sent.push(auth);
  });
  await page.goto(appUrl);
  await page.getByRole('button', { name: 'Predict' }).click();
  await expect(page.getByTestId('top-tokens')).toBeVisible({ timeout: 30_000 });

  // An edit through the app's job API lands in the backend's versions, streamed back over SSE.
  await page.getByLabel('New target').fill('Disia');
  await page.getByLabel('Use context templates').uncheck();
  await page.getByRole('button', { name: 'Run edit' }).click();
  await expect(page.getByTestId('edit-status')).toHaveText(/^Done: edit \d+ applied/, { timeout: 60_000 });
  await expect(page.getByTestId('loss-chart')).toBeVisible();
  const versions = await request.get(`${backendUrl}/api/models/world-gpt2/versions`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(((await versions.json()) as { edits: unknown[] }).edits).toHaveLength(1);
  await page.getByRole('button', { name: 'Revert' }).first().click();
  await expect(page.getByTestId('version-item')).toHaveCount(0);
  expect(sent).toEqual([]); // the browser never held the token
});
