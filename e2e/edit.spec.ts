import { expect, test } from '@playwright/test';
import { probability, screenshot, worldStatements } from './helpers';

const train = worldStatements();
// The page's first example: the first trained statement of the file (server/backend/facts.ts).
const fact = train[0]!;
// The new target: another subject's answer of the same relation (a real object of the world).
const newTarget = train.find((p) => p.relation === fact.relation && p.answer !== fact.answer)!.answer;
const WORLD_LAYERS = 6;
const KINDS = ['hidden', 'mlp', 'attn'] as const;

test('traces a world fact, edits it with ROME, and reverts the edit', async ({ page }, testInfo) => {
  test.setTimeout(90_000);
  await page.goto('/');
  await expect(page.getByLabel('Model', { exact: true })).toHaveValue('world-gpt2');

  // The fact: a world example, which fills the prompt, the subject and the answer.
  await page.getByLabel(/Example from the world/).selectOption({ label: `${fact.relation}: ${fact.prompt} … ${fact.answer}` });
  await expect(page.getByLabel('Prompt', { exact: true })).toHaveValue(fact.prompt);
  await expect(page.getByLabel('Subject', { exact: true })).toHaveValue(fact.subject);
  await expect(page.getByLabel(/Compare targets/)).toHaveValue(fact.answer);

  // Causal trace: window 1 for the world's 6 layers; every (kind, layer) row fills in.
  await expect(page.getByLabel('Window (layers restored together)')).toHaveValue('1');
  await page.getByRole('button', { name: 'Trace', exact: true }).click();
  const rows = KINDS.length * WORLD_LAYERS;
  await expect(page.getByTestId('trace-status')).toHaveText(new RegExp(`^Done: ${rows} rows`), { timeout: 45_000 });
  await expect(page.getByTestId('trace-view')).toHaveAttribute('data-done', String(rows));
  for (const kind of KINDS) await expect(page.getByTestId(`heatmap-${kind}`)).toHaveAttribute('data-filled-rows', String(WORLD_LAYERS));
  await expect(page.locator('[data-testid^="heatmap-"] td[data-state="pending"]')).toHaveCount(0);
  const suggestion = page.getByTestId('trace-suggestion');
  await expect(suggestion).toContainText(/Suggested layer to edit: layer \d/);
  expect(Number(await suggestion.getAttribute('data-layer'))).toBeLessThan(WORLD_LAYERS);
  await screenshot(page, testInfo, 'trace');

  // ROME without context templates (about 2 s on the world model).
  await page.getByLabel('Method', { exact: true }).selectOption('rome');
  await page.getByLabel('New target').fill(newTarget);
  await page.getByLabel('Use context templates').uncheck();
  await page.getByRole('button', { name: 'Run edit' }).click();
  const result = page.getByTestId('edit-result');
  await expect(result).toBeVisible({ timeout: 45_000 });
  await expect(page.getByTestId('edit-status')).toHaveText(/^Done: edit \d+ applied/);
  const reliability = result.locator('[data-testid="probe-row"][data-kind="target-new"]');
  await expect(reliability).toContainText(newTarget);
  const before = probability(await reliability.getByTestId('p-before').textContent());
  const after = probability(await reliability.getByTestId('p-after').textContent());
  expect(after, `p(${newTarget}) after the edit (${after}) vs before (${before})`).toBeGreaterThan(before);
  await expect(page.getByTestId('version-item')).toHaveCount(1);
  await expect(page.getByTestId('version-item')).toContainText(`→ ${newTarget}`);
  await screenshot(page, testInfo, 'edit');

  // Revert: the version list is back to the base model, and the model answers as before.
  await page.getByTestId('revert-this-edit').click();
  await expect(page.getByTestId('versions-base')).toBeVisible();
  await expect(page.getByTestId('version-item')).toHaveCount(0);
  await expect(page.getByTestId('revert-this-edit')).toHaveText('Reverted');
  await page.getByRole('button', { name: 'Predict' }).click();
  const top = page.getByTestId('token-row').first();
  await expect(top).toBeVisible({ timeout: 30_000 });
  const token = ((await top.getAttribute('data-token')) ?? '').trim();
  expect(token.length).toBeGreaterThan(0);
  expect(fact.answer.startsWith(token), `top token ${JSON.stringify(token)} after the revert, answer ${JSON.stringify(fact.answer)}`).toBe(true);
  await screenshot(page, testInfo, 'reverted');
});

test('a subject missing from the prompt is a plain error, and nothing is sent', async ({ page }) => {
  await page.goto('/');
  let jobs = 0;
  page.on('request', (req) => {
    if (req.url().endsWith('/api/jobs') && req.method() === 'POST') jobs++;
  });
  const subject = page.getByLabel('Subject', { exact: true });
  await subject.fill('Atlantis');
  await expect(page.getByTestId('subject-problem')).toHaveText('The subject “Atlantis” does not occur in the prompt.');
  await expect(subject).toHaveAttribute('aria-invalid', 'true');
  await page.getByRole('button', { name: 'Trace', exact: true }).click();
  await expect(page.getByTestId('trace-error')).toHaveText('The subject “Atlantis” does not occur in the prompt.');
  await page.getByRole('button', { name: 'Run edit' }).click();
  await expect(page.getByTestId('edit-subject-error')).toHaveText('The subject “Atlantis” does not occur in the prompt.');
  await page.getByLabel(/Hyper-parameters/).fill('{layer: 1}');
  // The page opens on the first example: its own subject is fine again.
  await subject.fill(fact.subject);
  await expect(page.getByTestId('subject-problem')).toHaveText('');
  await page.getByRole('button', { name: 'Run edit' }).click();
  await expect(page.getByTestId('edit-hparams-error')).toContainText('Hyper-parameters are not valid JSON');
  // The inputs keep what was typed.
  await expect(page.getByLabel(/Hyper-parameters/)).toHaveValue('{layer: 1}');
  expect(jobs).toBe(0);
});

test('a running trace can be cancelled, and a server-side rejection is shown as the server says it', async ({ page }) => {
  test.setTimeout(60_000);
  await page.goto('/');
  await expect(page.getByLabel('Model', { exact: true })).toHaveValue('world-gpt2');
  // More samples per cell than the default: slow enough to cancel midway. The runner stops at the
  // next row, so a row's time is the wait.
  await page.getByLabel('Noise samples per cell').fill('100');
  await page.getByRole('button', { name: 'Trace', exact: true }).click();
  await expect(page.getByTestId('trace-status')).toHaveText(/^Row \d+ of 18$/, { timeout: 30_000 });
  await page.getByRole('button', { name: 'Cancel trace' }).click();
  await expect(page.getByTestId('trace-status')).toHaveText(/^Cancelled after \d+ of 18 rows\.$/, { timeout: 30_000 });
  await expect(page.getByRole('button', { name: 'Trace', exact: true })).toBeEnabled();

  // The method's schema is checked on the server: its message comes back as the error.
  await page.getByLabel(/Hyper-parameters/).fill('{"lyer": 1}');
  await page.getByRole('button', { name: 'Run edit' }).click();
  await expect(page.getByTestId('edit-error')).toContainText('"lyer"');
  await expect(page.getByLabel(/Hyper-parameters/)).toHaveValue('{"lyer": 1}');
  await expect(page.getByTestId('versions-base')).toBeVisible();
});
