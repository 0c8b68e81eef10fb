/** Helpers shared by the browser tests. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, type Download, type Page, type TestInfo } from '@playwright/test';
import type { KnownFact } from '../components/studio/examples';

/** The world's trained statements (data/world/probes/known-facts.json), in file order. */
export function worldStatements(): KnownFact[] {
  const probes = JSON.parse(readFileSync(path.join(process.cwd(), 'data/world/probes/known-facts.json'), 'utf8')) as KnownFact[];
  return probes.filter((p) => p.phrasing === 'train' && p.form === 'statements');
}

export async function screenshot(page: Page, testInfo: TestInfo, name: string) {
  const file = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  await testInfo.attach(name, { path: file, contentType: 'image/png' });
}

/** A percentage as the page prints it ("12.3%", "4.5e-3%") as a probability. */
export function probability(text: string | null): number {
  const pct = Number.parseFloat((text ?? '').replace('%', ''));
  expect(Number.isFinite(pct), `a percentage: ${JSON.stringify(text)}`).toBe(true);
  return pct / 100;
}


/** Clicks `button` and returns what the browser saved: its suggested name and its bytes. */
export async function download(page: Page, click: () => Promise<void>): Promise<{ name: string; bytes: Buffer }> {
  const [saved] = (await Promise.all([page.waitForEvent('download'), click()])) as [Download, void];
  const file = await saved.path();
  return { name: saved.suggestedFilename(), bytes: readFileSync(file) };
}
