import { expect, test, type Page } from '@playwright/test';
import { worldStatements } from './helpers';

const fact = worldStatements()[0]!;
const WORLD_LAYERS = 6;
const KINDS = ['hidden', 'mlp', 'attn'] as const;
const ROWS = KINDS.length * WORLD_LAYERS;

/** Every filled heatmap cell's effect, kind by kind, in page order. */
async function cellValues(page: Page): Promise<number[]> {
  const values: number[] = [];
  for (const kind of KINDS) {
    const cells = await page.getByTestId(`heatmap-${kind}`).locator('td[data-state="filled"]').evaluateAll((tds) => tds.map((td) => Number(td.getAttribute('data-value'))));
    values.push(...cells);
  }
  return values;
}

test('traces a world fact in the browser (onnxruntime-web, WASM) and agrees with the server’s trace', async ({ page }) => {
  test.setTimeout(180_000);
  const failed: string[] = [];
  page.on('response', (res) => {
    // the studio has no favicon (not this test's concern)
    if (res.status() >= 400 && !res.url().endsWith('/favicon.ico')) failed.push(`${res.status()} ${res.url()}`);
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.location().url.endsWith('/favicon.ico')) failed.push(`console: ${msg.text()} at ${msg.location().url}`);
  });
  await page.goto('/');
  await expect(page.getByLabel('Model', { exact: true })).toHaveValue('world-gpt2');
  await page.getByLabel(/Example from the world/).selectOption({ label: `${fact.relation}: ${fact.prompt} … ${fact.answer}` });
  await expect(page.getByLabel('Subject', { exact: true })).toHaveValue(fact.subject);

  // The server's trace first, as the reference.
  await page.getByRole('button', { name: 'Trace', exact: true }).click();
  await expect(page.getByTestId('trace-status')).toHaveText(new RegExp(`^Done: ${ROWS} rows`), { timeout: 60_000 });
  const server = await cellValues(page);
  expect(server.length).toBeGreaterThan(0);

  // The same trace in this browser: it downloads the ONNX export and runs it in a web worker.
  const onnx = page.waitForResponse((res) => res.url().endsWith('/api/models/world-gpt2/onnx'));
  await page.getByRole('button', { name: 'Trace in my browser' }).click();
  const download = await onnx;
  expect(download.status()).toBe(200);
  expect(download.headers()['x-locus-version']).toBe('base');
  await expect(page.getByTestId('trace-view')).toHaveAttribute('data-source', 'browser', { timeout: 60_000 });
  // Chromium here has no GPU (--disable-gpu): the WASM path.
  await expect(page.getByTestId('trace-status')).toHaveText(/in this browser, WebAssembly, 1 thread|^Done in this browser/, { timeout: 60_000 });
  await expect(page.getByTestId('trace-status')).toHaveText(new RegExp(`^Done in this browser: ${ROWS} rows in [\\d.]+ s`), { timeout: 120_000 });
  await expect(page.getByTestId('trace-error')).toHaveCount(0);
  for (const kind of KINDS) await expect(page.getByTestId(`heatmap-${kind}`)).toHaveAttribute('data-filled-rows', String(WORLD_LAYERS));
  await expect(page.getByTestId('trace-suggestion')).toContainText(/Suggested layer to edit: layer \d/);
  const browser = await cellValues(page);

  // Same noise (same seed), same weights: the effects agree to float rounding.
  expect(browser.length).toBe(server.length);
  const worst = Math.max(...browser.map((v, i) => Math.abs(v - server[i]!)));
  expect(worst, `max |browser - server| effect ${worst}`).toBeLessThan(1e-4);
  test.info().annotations.push({ type: 'agreement', description: `max |browser - server| effect ${worst.toExponential(2)} over ${browser.length} cells` });
  // and they are not all zero: the trace found where the fact is
  expect(Math.max(...browser)).toBeGreaterThan(0.1);
  expect(failed).toEqual([]);
  await page.screenshot({ path: test.info().outputPath('browser-trace.png'), fullPage: true });

  // A second trace reuses the worker's session: no second download.
  let downloads = 0;
  page.on('request', (req) => {
    if (req.url().endsWith('/onnx')) downloads++;
  });
  await page.getByRole('button', { name: 'Trace in my browser' }).click();
  await expect(page.getByTestId('trace-status')).toHaveText(new RegExp(`^Done in this browser: ${ROWS} rows`), { timeout: 120_000 });
  expect(downloads).toBe(0);
  expect(await cellValues(page)).toEqual(browser);
});

test('the ONNX route and the wasm files answer as the worker expects; an unknown model is a 404 with the reason', async ({ request }) => {
  const wasm = await request.head('/ort/ort-wasm-simd-threaded.jsep.wasm');
  expect(wasm.status()).toBe(200);
  expect(wasm.headers()['content-type']).toBe('application/wasm');
  const missing = await request.get('/ort/evil.js');
  expect(missing.status()).toBe(404);
  const unknown = await request.get('/api/models/no-such-model/onnx');
  expect(unknown.status()).toBe(404);
  expect((await unknown.json()).error).toMatch(/Unknown model "no-such-model"/);
  const bad = await request.post('/api/models/world-gpt2/trace-input', { data: { prompt: fact.prompt, subject: 'Atlantis', target: ` ${fact.answer}`, window: 1 } });
  expect(bad.status()).toBe(400);
  expect((await bad.json()).error).toMatch(/Atlantis/);
});

test('a browser trace can be cancelled, and the next one starts afresh', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto('/');
  await expect(page.getByTestId('model-details')).toContainText('family gpt2', { timeout: 60_000 });
  await page.getByLabel(/Example from the world/).selectOption({ label: `${fact.relation}: ${fact.prompt} … ${fact.answer}` });
  // 1000 samples per cell: minutes of work, so the cancel lands mid-trace
  await page.getByLabel('Noise samples per cell').fill('1000');
  await page.getByRole('button', { name: 'Trace in my browser' }).click();
  const status = page.getByTestId('trace-status');
  // past the clean run: rows are being computed
  await expect(status).toHaveText(new RegExp(`^Row \\d+ of ${ROWS} \\(in this browser, WebAssembly`), { timeout: 60_000 });
  await expect(page.getByLabel('Noise samples per cell')).toBeDisabled();
  await page.getByRole('button', { name: 'Cancel browser trace' }).click();
  await expect(status).toHaveText(new RegExp(`^Cancelled after \\d+ of ${ROWS} rows`));
  await expect(page.getByRole('button', { name: 'Trace in my browser' })).toBeEnabled();
  await expect(page.getByTestId('trace-error')).toHaveCount(0);

  // the worker was terminated: the next trace loads the model again and runs to the end
  await page.getByLabel('Noise samples per cell').fill('2');
  const onnx = page.waitForResponse((res) => res.url().endsWith('/api/models/world-gpt2/onnx'));
  await page.getByRole('button', { name: 'Trace in my browser' }).click();
  expect((await onnx).status()).toBe(200);
  await expect(status).toHaveText(new RegExp(`^Done in this browser: ${ROWS} rows`), { timeout: 60_000 });
  await expect(page.getByTestId('trace-view')).toContainText('2 samples');
});
