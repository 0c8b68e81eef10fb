import { expect, test } from '@playwright/test';
import { probability, screenshot } from './helpers';

test('presentation mode: one key per step, trace → edit → before/after → revert', async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  await page.goto('/present');
  const top = page.getByTestId('present-top');
  await expect(top).not.toHaveText(/Asking/, { timeout: 30_000 });
  const firstAnswer = (await top.locator('span').first().textContent())!;

  await page.keyboard.press('t');
  const trace = page.getByTestId('present-trace');
  await expect(trace.getByTestId('heatmap-mlp')).toHaveAttribute('data-filled-rows', '6', { timeout: 45_000 });
  await screenshot(page, testInfo, 'present-trace');

  await page.keyboard.press('e');
  await expect(page.getByTestId('present-edit')).toContainText(/done in [\d.]+ s\. Press B\./, { timeout: 45_000 });

  await page.keyboard.press('b');
  const before = probability(await page.getByTestId('present-before-before').textContent());
  const after = probability(await page.getByTestId('present-after-after').textContent());
  expect(after, `p(new) after (${after}) vs before (${before})`).toBeGreaterThan(before);
  await screenshot(page, testInfo, 'present-before-after');

  // Moving to another fact while the edit is applied is refused.
  await page.keyboard.press('ArrowRight');
  await expect(page.getByTestId('present-notice')).toHaveText('Revert the edit (R) before moving to another fact.');

  await page.keyboard.press('r');
  await expect(page.getByTestId('present-revert')).toHaveText('Reverted: the model is back to its base weights, exactly.');
  await expect(top.locator('span').first()).toHaveText(firstAnswer);

  // Space after the revert moves on to the next fact.
  const prompt = await page.getByTestId('present-prompt').textContent();
  await page.keyboard.press(' ');
  await expect(page.getByTestId('present-prompt')).not.toHaveText(prompt!);
});
