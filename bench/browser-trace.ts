/**
 * Seconds for a full causal trace of a world fact in the browser (onnxruntime-web, WASM, in
 * headless Chromium, through the studio's "Trace in my browser") and on the server (the studio's
 * "Trace" job: the engine's CPU backend), the same request both ways:
 *   npm run build && npx tsx bench/browser-trace.ts [--runs 3] [--samples 10] [--port 3201] [--url http://...]
 * Without --url it starts `next start` on --port itself. Reads the seconds the page reports
 * (lib/tracing's `seconds`: clean run to last row), plus the browser's first-trace wall time, which
 * adds the ONNX download and session creation.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, expect, type Page } from '@playwright/test';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    samples: { type: 'string', default: '10' },
    port: { type: 'string', default: '3201' },
    url: { type: 'string' },
  },
});
const runs = Number(values.runs);

interface Probe {
  prompt: string;
  subject: string;
  answer: string;
  relation: string;
  form: string;
  phrasing: string;
}
const probes = JSON.parse(readFileSync(path.join(process.cwd(), 'data/world/probes/known-facts.json'), 'utf8')) as Probe[];
const fact = probes.find((p) => p.phrasing === 'train' && p.form === 'statements')!;

async function waitFor(url: string, seconds: number): Promise<void> {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${url} did not answer within ${seconds} s`);
}

/** Clicks a trace button and returns the seconds the status line reports, and the wall time. */
async function traceOnce(page: Page, button: string, done: RegExp): Promise<{ seconds: number; wall: number }> {
  const started = performance.now();
  await page.getByRole('button', { name: button, exact: true }).click();
  const status = page.getByTestId('trace-status');
  await status.filter({ hasText: done }).waitFor({ timeout: 600_000 });
  const wall = (performance.now() - started) / 1000;
  const view = page.getByTestId('trace-view');
  const shown = /([\d]+) samples\)/.exec((await view.textContent()) ?? '')?.[1];
  if (shown !== values.samples) throw new Error(`the trace ran ${shown} samples, not ${values.samples}`);
  const attr = await view.getAttribute('data-seconds');
  const seconds = Number(attr);
  if (!attr || !Number.isFinite(seconds)) throw new Error(`the trace view reports no seconds (${JSON.stringify(attr)})`);
  return { seconds, wall };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  let server: ReturnType<typeof spawn> | null = null;
  const base = values.url ?? `http://127.0.0.1:${values.port}`;
  if (!values.url) {
    server = spawn('npx', ['next', 'start', '-p', values.port!], { stdio: 'ignore', detached: true });
    await waitFor(`${base}/api/health`, 120);
  }
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ baseURL: base });
    await page.goto('/');
    // the panel remounts once the model's details arrive: set the samples after that
    await expect(page.getByTestId('model-details')).toContainText('family gpt2', { timeout: 60_000 });
    await page.getByLabel(/Example from the world/).selectOption({ label: `${fact.relation}: ${fact.prompt} … ${fact.answer}` });
    await page.getByLabel('Noise samples per cell').fill(values.samples!);
    await expect(page.getByLabel('Noise samples per cell')).toHaveValue(values.samples!);
    const tokens = await page.evaluate(async ({ prompt, subject, answer }) => {
      const res = await fetch('/api/models/world-gpt2/trace-input', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt, subject, target: ` ${answer}`, window: 1 }) });
      return ((await res.json()) as { input?: { tokens: string[] } }).input?.tokens.length;
    }, fact);
    const serverRuns: number[] = [];
    // the first server trace loads the model; the seconds reported exclude that
    for (let i = 0; i < runs; i++) serverRuns.push((await traceOnce(page, 'Trace', /^Done: \d+ rows/)).seconds);
    const first = await traceOnce(page, 'Trace in my browser', /^Done in this browser/);
    const browserRuns = [first.seconds];
    for (let i = 1; i < runs; i++) browserRuns.push((await traceOnce(page, 'Trace in my browser', /^Done in this browser/)).seconds);
    const fmt = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');
    console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} x${os.availableParallelism()}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    console.log(`fact: ${JSON.stringify(fact.prompt)} -> ${JSON.stringify(fact.answer)} (${tokens} tokens), ${values.samples} samples, window 1, 3 kinds, all positions`);
    console.log(`| where | runs (s) | median (s) |`);
    console.log(`|---|---|---|`);
    console.log(`| server (engine, CPU backend) | ${fmt(serverRuns)} | ${median(serverRuns).toFixed(2)} |`);
    console.log(`| browser (onnxruntime-web WASM, 1 thread) | ${fmt(browserRuns)} | ${median(browserRuns).toFixed(2)} |`);
    console.log(`browser first trace, wall time with the ONNX download and session creation: ${first.wall.toFixed(1)} s`);
  } finally {
    await browser.close();
    if (server?.pid) process.kill(-server.pid);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
