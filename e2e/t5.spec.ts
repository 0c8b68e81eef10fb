import { expect, test } from '@playwright/test';
import { probability, screenshot, worldStatements } from './helpers';

const train = worldStatements();
// The page's first example, a trained statement of the world: the T5 world model learnt it too.
const fact = train[0]!;
const newTarget = train.find((p) => p.relation === fact.relation && p.answer !== fact.answer)!.answer;
const LAYERS = 4; // data/models/world-t5: 4 encoder + 4 decoder layers
const KINDS = ['hidden', 'mlp', 'attn'] as const;

test('the T5 world model: predicts, traces with encoder and decoder heatmaps, refuses ROME with its reason, edits with CaliNET', async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  await page.goto('/');
  const picker = page.getByLabel('Model', { exact: true });
  await expect(picker).toHaveValue('world-gpt2');
  await picker.selectOption('world-t5');
  await expect(page.getByTestId('model-details')).toContainText('family t5 · encoder-decoder · 4 + 4 layers (encoder + decoder)');

  await page.getByLabel(/Example from the world/).selectOption({ label: `${fact.relation}: ${fact.prompt} … ${fact.answer}` });
  await expect(page.getByLabel('Subject', { exact: true })).toHaveValue(fact.subject);

  // Prediction: the decoder's first token is the answer's first token.
  await page.getByRole('button', { name: 'Predict' }).click();
  const top = page.getByTestId('token-row').first();
  await expect(top).toBeVisible({ timeout: 60_000 });
  await expect(page.getByRole('heading', { name: 'First decoder token' })).toBeVisible();
  const token = ((await top.getAttribute('data-token')) ?? '').trim();
  expect(token.length).toBeGreaterThan(0);
  expect(fact.answer.startsWith(token), `top token ${JSON.stringify(token)} for answer ${JSON.stringify(fact.answer)}`).toBe(true);
  await expect(page.getByTestId('prompt-tokens')).toContainText('</s>');
  await expect(page.getByTestId('target-row').getByTestId('target-prob')).toHaveText(/%$/);

  // Tracing in the browser is GPT-2 only: no button, and the reason.
  await expect(page.getByRole('button', { name: 'Trace in my browser' })).toHaveCount(0);
  await expect(page.getByTestId('trace-browser-unavailable')).toContainText('GPT-2 models only');

  // The causal trace: the encoder's rows, then the decoder's, fill two sets of heatmaps.
  await page.getByRole('button', { name: 'Trace', exact: true }).click();
  const rows = 2 * KINDS.length * LAYERS;
  await expect(page.getByTestId('trace-status')).toHaveText(new RegExp(`^Done: ${rows} rows`), { timeout: 60_000 });
  for (const kind of KINDS) {
    await expect(page.getByTestId(`heatmap-${kind}`)).toHaveAttribute('data-filled-rows', String(LAYERS));
    await expect(page.getByTestId(`heatmap-decoder-${kind}`)).toHaveAttribute('data-filled-rows', String(LAYERS));
  }
  await expect(page.locator('[data-testid^="heatmap-"] td[data-state="pending"]')).toHaveCount(0);
  // one column per decoder position (the start token); the encoder's as many as the prompt's tokens
  await expect(page.getByTestId('heatmap-decoder-hidden').locator('tbody tr')).toHaveCount(1);
  expect(await page.getByTestId('heatmap-hidden').locator('tbody tr').count()).toBeGreaterThan(3);
  await expect(page.getByTestId('trace-decoder')).toContainText('Cross-attention output');
  // restoring the last decoder layer's state brings p_clean back: the strongest decoder cell is real
  const decoderCells = await page.getByTestId('heatmap-decoder-hidden').locator('td[data-state="filled"]').evaluateAll((tds) => tds.map((td) => Number(td.getAttribute('data-value'))));
  expect(Math.max(...decoderCells)).toBeGreaterThan(0.1);
  await expect(page.getByTestId('trace-suggestion')).toContainText(/encoder layer \d/);
  await screenshot(page, testInfo, 't5-trace');

  // ROME on T5: the refusal's sentence, no stack.
  const method = page.getByLabel('Method', { exact: true });
  await expect(method.locator('option[value="rome"]')).toHaveText(/refuses this one/);
  await method.selectOption('rome');
  await page.getByLabel('New target').fill(newTarget);
  await page.getByRole('button', { name: 'Run edit' }).click();
  const error = page.getByTestId('edit-error');
  await expect(error).toContainText('ROME does not edit t5 models (encoder-decoder):');
  await expect(error).not.toContainText(/\bat \S+:\d+/);

  // CaliNET edits the decoder: p(new target) rises; the edit is reverted after.
  await method.selectOption('calinet');
  await page.getByRole('button', { name: 'Run edit' }).click();
  const result = page.getByTestId('edit-result');
  await expect(result).toBeVisible({ timeout: 60_000 });
  const reliability = result.locator('[data-testid="probe-row"][data-kind="target-new"]');
  const before = probability(await reliability.getByTestId('p-before').textContent());
  const after = probability(await reliability.getByTestId('p-after').textContent());
  expect(after, `p(${newTarget}) after the edit (${after}) vs before (${before})`).toBeGreaterThan(Math.max(0.5, before));
  await screenshot(page, testInfo, 't5-edit');
  await page.getByTestId('revert-this-edit').click();
  await expect(page.getByTestId('versions-base')).toBeVisible();
});

test('the benchmarks page shows the T5 world model\'s committed rows under its name', async ({ page }) => {
  await page.goto('/benchmarks');
  await page.locator('#results-model').selectOption('world-t5');
  const rows = page.locator('[data-testid="result-row"][data-source="committed"]');
  await expect(rows.first()).toBeVisible();
  for (const method of ['FT-L', 'FT-M', 'KN', 'CaliNET', 'T-Patcher', 'MEND', 'KE', 'SERAC']) {
    const row = rows.filter({ has: page.getByRole('rowheader', { name: method, exact: true }) });
    await expect(row.first(), method).toContainText('world-t5 · world:counterfact-test');
  }
  // the trained methods' training, from the committed logs, for this model only
  const training = page.getByTestId('training-row');
  for (const method of ['MEND', 'KE', 'SERAC']) {
    await expect(training.filter({ has: page.getByRole('rowheader', { name: method, exact: true }) }).first(), method).toContainText('world-t5');
  }
  await expect(training.filter({ hasText: 'world-gpt2' })).toHaveCount(0);
});
