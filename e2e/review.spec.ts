import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';

interface CounterFactRecord {
  case_id: number;
  requested_rewrite: { subject: string };
  portability: { 'Recalled Relation': string; 'New Question': string; 'New Answer': string };
}

test('imports a shared portability file, reviews three items by keys and buttons, and exports the accepted ones', async ({ page }, testInfo) => {
  // A fresh name per run: the review database (.locus/review.sqlite) outlives the server.
  const reviewer = `e2e-${Date.now()}`;
  await page.goto('/review');

  await page.getByLabel('Your name (reviewer)').fill(reviewer);
  await page.getByRole('button', { name: 'Use this name' }).click();
  await expect(page.getByTestId('reviewer-name')).toHaveText(reviewer);

  await page.getByRole('button', { name: 'Import counterfact-portability.sample.json' }).click();
  await expect(page.getByTestId('import-summary')).toContainText('200 portability questions from 200 counterfact records');
  const item = page.getByTestId('review-item');
  await expect(item).toHaveAttribute('data-index', '0');
  await expect(page.getByTestId('review-progress')).toContainText('0 / 200 reviewed by you');
  const first = {
    subject: (await item.getByRole('heading').textContent())!.replace(/^Item 1: /, ''),
    question: (await page.getByTestId('item-question').textContent())!,
  };
  await expect(page.getByTestId('item-fact')).toContainText('originates from London');

  // 1: accept with the keyboard (focus is on the import button, not in a field).
  await page.keyboard.press('a');
  await expect(item).toHaveAttribute('data-index', '1');
  await expect(page.getByTestId('review-progress')).toContainText('1 / 200 reviewed by you');

  // 2: edit with the key, then accept with the button; typing "a" in the field decides nothing.
  const second = { subject: (await item.getByRole('heading').textContent())!.replace(/^Item 2: /, '') };
  await page.keyboard.press('e');
  const question = page.getByRole('textbox', { name: 'Question', exact: true });
  await expect(question).toBeFocused();
  const edited = `Edited by ${reviewer}: a reworded question?`;
  await question.fill(edited);
  await question.press('a');
  await question.press('Backspace');
  await expect(question).toHaveValue(edited);
  await expect(item).toHaveAttribute('data-index', '1');
  await page.getByRole('button', { name: 'Save and accept' }).click();
  await expect(item).toHaveAttribute('data-index', '2');

  // 3: reject with the button.
  await page.getByRole('button', { name: /^Reject/ }).click();
  await expect(item).toHaveAttribute('data-index', '3');
  await expect(page.getByTestId('review-progress')).toContainText('3 / 200 reviewed by you');
  await expect(page.getByTestId('agreement')).toContainText(reviewer);

  // The automatic check on the world model: real CounterFact is outside its vocabulary, so either
  // answer is a real result; the page shows which, with the rank when it knows.
  await page.getByRole('button', { name: 'Check this item' }).click();
  await expect(page.getByTestId('item-check')).toContainText(/(knows|does not know) world-gpt2/, { timeout: 60_000 });

  const shot = testInfo.outputPath('review.png');
  await page.screenshot({ path: shot, fullPage: true });
  await testInfo.attach('review.png', { path: shot, contentType: 'image/png' });

  const downloading = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Download the accepted items (JSON)' }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe('counterfact-portability.sample.accepted.json');
  const records = JSON.parse(readFileSync((await download.path())!, 'utf8')) as CounterFactRecord[];
  expect(records.map((r) => r.requested_rewrite.subject)).toEqual([first.subject, second.subject]);
  expect(records[0]!.portability['New Question']).toBe(first.question);
  expect(records[1]!.portability['New Question']).toBe(edited);
  await testInfo.attach('accepted.json', { body: JSON.stringify(records, null, 1), contentType: 'application/json' });
});

test('a file that is not a portability file is refused with a plain message', async ({ page }) => {
  await page.goto('/review');
  await page.getByLabel('Upload a file (JSON)').setInputFiles({ name: 'bad.json', mimeType: 'application/json', buffer: Buffer.from('[{"hello": 1}]') });
  await expect(page.getByTestId('import-error')).toContainText('Could not import: Record 0 is neither a CounterFact record');
});
