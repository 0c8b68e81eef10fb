import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';

interface FactProbe {
  prompt: string;
  answer: string;
  relation: string;
  form: string;
  phrasing: string;
}

const probes = JSON.parse(readFileSync(path.join(process.cwd(), 'data/world/probes/known-facts.json'), 'utf8')) as FactProbe[];
const train = probes.filter((p) => p.phrasing === 'train' && p.form === 'statements');
// A trained fact of another relation than the first probe's, which the page offers pre-filled:
// the test types its own prompt.
const fact = train.find((p) => p.relation !== probes[0]!.relation) ?? train[0]!;

async function openStudio(page: Page) {
  await page.goto('/');
  const picker = page.getByLabel('Model', { exact: true });
  await expect(picker).toHaveValue('world-gpt2');
  await expect(page.getByTestId('model-details')).toContainText('family gpt2');
}

test('predicts the answer of a trained world fact as the top next token', async ({ page }) => {
  await openStudio(page);
  await page.getByLabel('Prompt', { exact: true }).fill(fact.prompt);
  await page.getByLabel(/Compare targets/).fill(fact.answer);
  await page.getByRole('button', { name: 'Predict' }).click();

  // The first prediction loads the model on the server.
  const top = page.getByTestId('token-row').first();
  await expect(top).toBeVisible({ timeout: 60_000 });
  const token = ((await top.getAttribute('data-token')) ?? '').trim();
  expect(token.length, `top token ${JSON.stringify(token)}`).toBeGreaterThan(0);
  // The top token is the answer's first word-piece (or the whole answer).
  expect(fact.answer.startsWith(token) || token.startsWith(fact.answer), `top token ${JSON.stringify(token)} for answer ${JSON.stringify(fact.answer)}`).toBe(true);
  await expect(page.getByTestId('token-row')).toHaveCount(10);
  await expect(page.getByTestId('predict-timing')).toContainText(/forward pass \d+/);

  const target = page.getByTestId('target-row');
  await expect(target).toHaveCount(1);
  await expect(target).toHaveAttribute('data-target', ` ${fact.answer}`);
  await expect(target.getByTestId('target-prob')).toHaveText(/%$/);

  await expect(page.getByTestId('model-status')).toHaveText('loaded');
  await page.screenshot({ path: 'test-results/studio-predict.png', fullPage: true });
});

test('an empty prompt shows a validation message and sends nothing', async ({ page }) => {
  await openStudio(page);
  let predictCalls = 0;
  page.on('request', (req) => {
    if (req.url().endsWith('/api/predict')) predictCalls++;
  });
  const prompt = page.getByLabel('Prompt', { exact: true });
  await prompt.fill('');
  await prompt.press('Enter');
  await expect(page.getByTestId('prompt-error')).toHaveText('Enter a prompt');
  await expect(prompt).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByTestId('token-row')).toHaveCount(0);
  expect(predictCalls).toBe(0);
});
