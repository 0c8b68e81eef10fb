import { expect, test } from '@playwright/test';
import { probability, screenshot, worldStatements } from './helpers';

const train = worldStatements();
const fact = train[0]!;
const newTarget = train.find((p) => p.relation === fact.relation && p.answer !== fact.answer)!.answer;

test('compares ROME, MEMIT and FT-M on one fact side by side, leaving the model unchanged', async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  await page.goto('/');
  await expect(page.getByLabel('Model', { exact: true })).toHaveValue('world-gpt2');
  await page.getByLabel(/Example from the world/).selectOption({ label: `${fact.relation}: ${fact.prompt} … ${fact.answer}` });
  await page.getByLabel('New target').fill(newTarget);
  await page.getByLabel('Use context templates').uncheck();

  const panel = page.getByTestId('compare-panel');
  for (const name of ['ROME', 'MEMIT', 'FT-M']) await expect(panel.getByLabel(name, { exact: true })).toBeChecked();
  await panel.getByRole('button', { name: 'Compare', exact: true }).click();
  await expect(page.getByTestId('compare-status')).toHaveText(/^Done in [\d.]+ s; the model is unchanged\.$/, { timeout: 90_000 });

  const table = page.getByTestId('compare-table');
  const before = probability(await table.locator('tbody tr').first().locator('td').first().textContent());
  for (const method of ['rome', 'memit']) {
    const after = probability(await page.getByTestId(`compare-${method}-edit`).textContent());
    expect(after, `${method}: p(${newTarget}) after (${after}) vs before (${before})`).toBeGreaterThan(before);
    await expect(page.getByTestId(`compare-${method}-time`)).toHaveText(/^\d+\.\d\d s$/);
  }
  await expect(page.getByTestId('compare-row-ft-m')).toBeVisible();
  await expect(page.getByTestId('compare-chart').locator('svg.recharts-surface[role="application"]')).toBeVisible();
  await expect(page.getByTestId('compare-generations')).toContainText('MEMIT');
  // Nothing was kept: the version history still shows the base model.
  await expect(page.getByTestId('version-item')).toHaveCount(0);
  await screenshot(page, testInfo, 'compare');

  // Fewer than two methods is refused before anything is sent.
  for (const name of ['MEMIT', 'FT-M']) await panel.getByLabel(name, { exact: true }).uncheck();
  await panel.getByRole('button', { name: 'Compare', exact: true }).click();
  await expect(page.getByTestId('compare-error')).toHaveText('Choose at least two methods to compare.');
});
