import { expect, test } from '@playwright/test';

test('a fact found in a dataset fills the fact box and the edit’s target and probes', async ({ page }) => {
  await page.goto('/');
  await page.getByText('Search a dataset for a fact').click();
  await page.getByLabel('Dataset', { exact: true }).selectOption('world:counterfact-test');
  await page.getByLabel('Words in the prompt or targets').fill('fouhola kaduton nosteco');
  await expect(page.getByTestId('search-count')).toHaveText(/^1 of \d+ records match\.$/);
  await page.getByTestId('search-results').getByRole('button').first().click();

  await expect(page.getByLabel('Prompt', { exact: true })).toHaveValue('Fouhola Kaduton was educated at');
  await expect(page.getByLabel('Subject', { exact: true })).toHaveValue('Fouhola Kaduton');
  await expect(page.getByLabel(/Compare targets/)).toHaveValue('Stuta Institute');
  await expect(page.getByLabel('New target')).toHaveValue('Nosteco College');
  await expect(page.getByLabel('Paraphrases')).toHaveValue(/Fouhola Kaduton's alma mater is/);
  await expect(page.getByLabel('Neighbourhood')).toHaveValue(/^Dida Bumoski's university is \| Stuta Institute/);

  // An empty search lists the dataset's first records; a search with no match says so.
  await page.getByLabel('Words in the prompt or targets').fill('zzzz no such fact');
  await expect(page.getByTestId('search-count')).toHaveText(/^0 of \d+ records match\.$/);
});
