import { expect, test } from '@playwright/test';

test('home page shows the title and a live health check from /api/health', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { level: 1, name: 'Locus' })).toBeVisible();
  await expect(page.getByTestId('health-status')).toHaveText(/^ok \(Node v\d+\.\d+\.\d+\)$/);
  await page.screenshot({ path: 'test-results/smoke-home.png', fullPage: true });
});
