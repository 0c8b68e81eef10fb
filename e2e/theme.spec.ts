import { expect, test } from '@playwright/test';

test('the theme switch turns the dark theme on and off, and the choice survives a reload', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto('/benchmarks');
  const html = page.locator('html');
  await expect(html).not.toHaveClass(/dark/);
  const light = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);

  const toggle = page.getByTestId('theme-toggle');
  await expect(toggle).toHaveAttribute('aria-pressed', 'false');
  await toggle.click();
  await expect(html).toHaveClass(/dark/);
  await expect(toggle).toHaveAttribute('aria-pressed', 'true');
  const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  expect(dark).not.toBe(light);

  await page.goto('/');
  await expect(html).toHaveClass(/dark/);
  await page.getByTestId('theme-toggle').click();
  await expect(html).not.toHaveClass(/dark/);
  await page.reload();
  await expect(html).not.toHaveClass(/dark/);
});

test('without a stored choice, the theme follows the system', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto('/review');
  await expect(page.locator('html')).toHaveClass(/dark/);
});
