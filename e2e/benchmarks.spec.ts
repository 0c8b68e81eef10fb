import { expect, test } from '@playwright/test';
import { download, screenshot } from './helpers';

test('runs an evaluation from the benchmarks page and browses and exports the results', async ({ page }, testInfo) => {
  test.setTimeout(180_000);
  await page.goto('/benchmarks');
  const launch = page.getByRole('form', { name: 'Evaluation settings' });
  await expect(launch.getByLabel('Model', { exact: true })).toHaveValue('world-gpt2');
  await expect(launch.getByLabel('Dataset', { exact: true })).toHaveValue('world:counterfact-test');

  // The committed reports are there from the start, with the sequential curve of the world runs.
  const resultsModel = page.locator('#results-model');
  const resultsDataset = page.locator('#results-dataset');
  await resultsModel.selectOption('world-gpt2');
  await resultsDataset.selectOption('world:counterfact-test');
  await expect(page.locator('[data-testid="result-row"][data-source="committed"]').first()).toBeVisible();
  await expect(page.getByTestId('sequential-curve').locator('svg.recharts-surface[role="application"]')).toBeVisible();
  await expect(page.getByTestId('batch-curve').locator('svg.recharts-surface[role="application"]')).toBeVisible();

  // Bad input is refused in the form.
  await page.getByLabel('Cases (N)').fill('0');
  await page.getByRole('button', { name: 'Run evaluation' }).click();
  await expect(page.getByTestId('eval-n-error')).toContainText('Cases: a whole number from 1 to');

  // ROME and MEMIT, 3 cases each, single editing, bare prompt.
  await page.getByLabel('Cases (N)').fill('3');
  await page.getByRole('checkbox', { name: 'MEMIT', exact: true }).check();
  await page.getByRole('button', { name: 'Run evaluation' }).click();
  // launching checks each job first, which loads the model on its first use: seconds on a busy machine
  await expect(page.getByTestId('eval-launched')).toHaveText('Launched 2 evaluations.', { timeout: 60_000 });
  const jobs = page.getByTestId('eval-job');
  await expect(jobs.first()).toBeVisible();
  await expect(page.locator('[data-testid="eval-job"][data-state="done"]')).toHaveCount(2, { timeout: 120_000 });

  const fresh = page.locator('[data-testid="result-row"][data-source="job"]');
  await expect(fresh).toHaveCount(2);
  for (const method of ['ROME', 'MEMIT']) {
    const row = fresh.filter({ has: page.getByRole('rowheader', { name: method, exact: true }) });
    const reliability = Number(await row.locator('td[data-metric="reliability"]').textContent());
    expect(reliability, `${method} reliability`).toBeGreaterThan(50);
  }
  await screenshot(page, testInfo, 'benchmarks');

  const csv = await download(page, () => page.getByRole('button', { name: 'Export CSV' }).click());
  expect(csv.name).toBe('locus-results-world-gpt2-world-counterfact-test.csv');
  const lines = csv.bytes.toString('utf8').trim().split('\n');
  expect(lines[0]).toMatch(/^model,dataset,method,mode,batch_size,cases,reliability,/);
  expect(lines.filter((l) => l.includes(',job:')).length).toBe(2);
  const json = await download(page, () => page.getByRole('button', { name: 'Export JSON' }).click());
  expect((JSON.parse(json.bytes.toString('utf8')) as unknown[]).length).toBe(lines.length - 1);

  const curve = page.getByTestId('sequential-curve');
  const svg = await download(page, () => curve.getByRole('button', { name: 'Save SVG' }).click());
  expect(svg.name).toMatch(/-sequential-reliability\.svg$/);
  const svgText = svg.bytes.toString('utf8');
  expect(svgText).toMatch(/^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  expect(svgText).toContain('>ROME</text>'); // the legend, redrawn in the file
  const png = await download(page, () => curve.getByRole('button', { name: 'Save PNG' }).click());
  expect([...png.bytes.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
});

test('trains SERAC for the world model as a job and lists the training beside the committed ones', async ({ page }) => {
  test.setTimeout(180_000);
  await page.goto('/benchmarks');
  const form = page.getByRole('form', { name: 'Training settings' });
  await expect(form.getByLabel('Model')).toHaveValue('world-gpt2');
  await form.getByLabel('Method').selectOption('serac');
  await form.getByLabel('Steps').fill('two');
  await form.getByRole('button', { name: 'Train' }).click();
  await expect(page.getByTestId('train-error')).toContainText('Steps: a whole number');

  await form.getByLabel('Steps').fill('4');
  await form.getByRole('button', { name: 'Train' }).click();
  const job = page.getByTestId('train-job').filter({ hasText: 'SERAC · world-gpt2 · 4 steps' });
  await expect(job.first()).toHaveAttribute('data-state', 'done', { timeout: 150_000 });

  await page.locator('#results-model').selectOption('world-gpt2');
  const mine = page.getByTestId('training-row').filter({ hasText: 'this server' });
  await expect(mine).toHaveCount(1);
  await expect(mine.getByRole('rowheader')).toHaveText('SERAC');
  await expect(mine.locator('td').first()).toHaveText('4');
  // the committed logs stay listed beside it
  await expect(page.getByTestId('training-row').filter({ hasText: 'world/serac-train.log' })).toHaveCount(1);
});
