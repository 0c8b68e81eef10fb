import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { traceResultSchema } from '../../lib/tracing';
import { Progress } from './progress';

const ROOT = path.resolve(__dirname, '../..');
const MODEL = 'data/models/world-gpt2';
// A fact the world model knows (data/world/probes/known-facts.json): its citizenship is Houmustan.
const FACT = ['--prompt', 'Nirel Reberg has a passport from', '--subject', 'Nirel Reberg'];
// The world model looks facts up at the prompt's last token (see its causal trace), so ROME edits
// there; context templates off keeps the edit to a second or two.
const ROME_HPARAMS = '{"layer":1,"factToken":"last","useContextTemplates":false}';

/** Scratch folder and a statistics cache of its own, so runs never read a stale one. */
const scratch = mkdtempSync(path.join(tmpdir(), 'locus-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs `locus <args>` as `npx locus` does, from the repository root. */
function locus(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/locus.mjs', ...args], { cwd: ROOT, env: { ...process.env, LOCUS_CACHE: path.join(scratch, 'cache'), ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('locus trace', () => {
  it('prints a heat table per kind and writes the result as JSON', async () => {
    const json = path.join(scratch, 'trace.json');
    const { code, stdout, stderr } = await locus(['trace', '--model', MODEL, ...FACT, '--target', ' Houmustan', '--samples', '2', '--json', json]);
    expect(stderr).toMatch(/trace \[#+\] 18\/18 100%/); // 3 kinds x 6 layers
    expect(code).toBe(0);
    for (const kind of ['hidden', 'mlp', 'attn']) expect(stdout).toContain(`${kind}: indirect effect of restoring`);
    expect(stdout).toMatch(/^layer\s+Nirel\*\s+Reberg\*\s+has\s+a\s+passport\s+from$/m);
    expect(stdout.match(/^[0-5] {5}.*\d$/gm)).toHaveLength(18);
    expect(stdout).toMatch(/^suggested layer \d: mlp at the subject's last token " Reberg"$/m);

    const result = traceResultSchema.parse(JSON.parse(readFileSync(json, 'utf8')));
    expect(result).toMatchObject({ samples: 2, layers: 6, subjectRange: { start: 0, end: 2 }, targetToken: { text: ' Houmustan' } });
    expect(result.pClean).toBeGreaterThan(0.5);
    expect(result.traces.map((t) => t.kind)).toEqual(['hidden', 'mlp', 'attn']);
    for (const { effects } of result.traces) {
      expect(effects).toHaveLength(6);
      for (const row of effects) expect(row).toHaveLength(result.tokens.length);
    }
  });
});

describe('locus edit', () => {
  it('rewrites the fact with ROME: the new target becomes likelier, and the edited model is saved', async () => {
    const save = path.join(scratch, 'edited');
    const args = ['edit', '--model', MODEL, '--method', 'rome', ...FACT, '--target', ' Flodedia', '--hparams', ROME_HPARAMS, '--stats-tokens', '2000', '--save', save];
    const { code, stdout, stderr } = await locus(args);
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/value: request 0: optimising v\*/);
    const p = (when: string) => Number(new RegExp(`^${when}:\\s+p\\(" Flodedia"\\) = (\\S+);`, 'm').exec(stdout)?.[1]);
    expect(p('before')).toBeLessThan(0.01);
    expect(p('after')).toBeGreaterThan(p('before'));
    expect(p('after')).toBeGreaterThan(0.5);
    expect(existsSync(path.join(save, 'model.safetensors'))).toBe(true);
    expect(JSON.parse(readFileSync(path.join(save, 'locus-edits.json'), 'utf8'))).toMatchObject([{ method: 'ROME', requests: [{ prompt: '{} has a passport from', targetNew: ' Flodedia' }] }]);
  });
});

describe.concurrent('bad requests exit with code 2 and one readable line', () => {
  const edit = (...extra: string[]) => ['edit', '--model', MODEL, '--method', 'rome', ...FACT, '--target', ' Flodedia', ...extra];
  it.each([
    ['a subject not in the prompt', ['trace', '--model', MODEL, '--prompt', 'Nirel Reberg has a passport from', '--subject', 'Ana Bel'], /^locus trace: subject "Ana Bel" is not in the prompt "Nirel Reberg has a passport from"$/],
    ['an empty target', ['edit', '--model', MODEL, '--method', 'rome', ...FACT, '--target', ''], /^locus edit: --target: must not be empty$/],
    ['an unknown method', ['edit', '--model', MODEL, '--method', 'grace', ...FACT, '--target', ' Flodedia'], /^locus edit: unknown method "grace" \(known: rome, .*\)$/],
    ['a layer out of range', edit('--hparams', '{"layer":6}'), /^locus edit: --hparams: layer 6 is out of range: the model has 6 layers \(0-5\)$/],
    ['a missing model folder', ['edit', '--model', 'data/models/missing', '--method', 'rome', ...FACT, '--target', ' Flodedia'], /^locus edit: --model data\/models\/missing: not found/],
    ['--hparams that is not JSON', edit('--hparams', '{layer: 1}'), /^locus edit: --hparams is not JSON: /],
    [
      'an encoder-decoder model',
      ['edit', '--model', 'data/fixtures/t5/t5-v1_0', '--method', 'rome', ...FACT, '--target', ' Flodedia'],
      /^locus edit: model_type t5 is an encoder-decoder model: .* \(ROME, MEMIT and the others\) support only decoder-only models/,
    ],
  ])('%s', async (_, args, message) => {
    const { code, stdout, stderr } = await locus(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    const lines = stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(message);
    expect(stderr).not.toMatch(/^\s+at /m); // no stack trace
  });
});

describe('Progress', () => {
  const sink = (isTTY: boolean) => {
    const writes: string[] = [];
    return { writes, stream: { isTTY, write: (s: string) => writes.push(s) > 0 } as unknown as NodeJS.WritableStream };
  };

  it('writes plain lines when not on a terminal: first and last states, and log lines in order', () => {
    const { writes, stream } = sink(false);
    const progress = new Progress(stream, { intervalMs: 60_000, width: 4 });
    for (let done = 1; done <= 3; done++) progress.update('rows', done, 4);
    progress.log('a note');
    progress.update('rows', 4, 4);
    progress.end();
    expect(writes.join('')).toBe('rows [#---] 1/4 25%\nrows [###-] 3/4 75%\na note\nrows [####] 4/4 100%\n');
  });

  it('redraws one line with \\r on a terminal', () => {
    const { writes, stream } = sink(true);
    const progress = new Progress(stream, { width: 4 });
    progress.update('steps', 1);
    progress.end();
    expect(writes.join('')).toBe('\rsteps 1\x1b[K\n');
  });
});

describe('locus train', () => {
  // A small MEND (layer 5's down projection, rank 8) trained for a few steps: the command's plumbing, not MEND's quality (server/editing/mend/mend.test.ts)
  const hparams = '{"layers":[5],"projections":["out"],"rank":8,"steps":4}';
  const env = { LOCUS_DATA_DIR: path.join(scratch, 'data') };
  const edit = ['edit', '--model', MODEL, '--method', 'mend', ...FACT, '--target', ' Nosonia', '--hparams', hparams];

  it('MEND edits refuse before training and work after it', async () => {
    const refused = await locus(edit, env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`locus edit: train MEND for this model first: npx locus train --method mend --model ${MODEL} --hparams '{"layers":[5]}'`);

    const trained = await locus(['train', '--method', 'mend', '--model', MODEL, '--n', '20', '--hparams', hparams], env);
    expect(trained.stderr).toMatch(/training \[#+\] 4\/4 100%/);
    expect(trained.code).toBe(0);
    expect(trained.stdout).toMatch(/wrote .*editors\/world-gpt2\/mend-layers-5\.safetensors/);
    expect(existsSync(path.join(scratch, 'data/editors/world-gpt2/mend-layers-5.safetensors'))).toBe(true);

    const edited = await locus(edit, env);
    expect(edited.code).toBe(0);
    expect(edited.stdout).toContain('changed transformer.h.5.mlp.c_proj.weight (rank');
  }, 120_000);

  it('says which methods train', async () => {
    const { code, stderr } = await locus(['train', '--method', 'rome', '--model', MODEL]);
    expect(code).toBe(2);
    expect(stderr).toContain('rome has no editor to train (trainable methods: mend, ke, serac)');
  });
});

describe('locus eval on an encoder-decoder model', () => {
  // the tiny random T5 of the parity fixtures: the command's plumbing (loading T5, editing its decoder, scoring), not a result
  const T5 = 'data/fixtures/t5/t5-v1_1';
  // words its 77-piece tokenizer spells without <unk> (world names have letters it lacks)
  const dataset = path.join(scratch, 't5-counterfact.json');
  const record = (i: number, subject: string, prompt: string) => ({
    case_id: i,
    pararel_idx: i,
    requested_rewrite: { prompt, relation_id: 'capital', target_new: { str: 'France', id: 'X1' }, target_true: { str: 'Paris', id: 'X2' }, subject },
    paraphrase_prompts: [`The tale: ${prompt.replace('{}', subject)}`],
    neighborhood_prompts: ['The cat is on the mat. The capital is'],
    attribute_prompts: ['The capital of Germany is'],
    generation_prompts: [prompt.replace('{}', subject)],
    portability: { 'Recalled Relation': '(France, capital, Paris)', 'New Question': `What is the capital of ${subject}?`, 'New Answer': 'Paris' },
  });
  writeFileSync(dataset, JSON.stringify([record(0, 'Danielle', 'The capital of {} is'), record(1, 'German', 'The mother tongue of {} is')]));
  const args = ['eval', '--model', T5, '--dataset', dataset, '--n', '2', '--quiet'];

  it('loads a T5 folder, edits with FT-M and prints the table', async () => {
    const out = path.join(scratch, 't5-ft-m.json');
    const { code, stdout, stderr } = await locus([...args, '--method', 'ft-m', '--out', out]);
    expect(stderr).toContain(`model ${T5}: t5 (encoder-decoder), 2 + 2 layers, hidden 32; methods edit the decoder`);
    expect(code).toBe(0);
    expect(stdout).toMatch(/\| FT-M \| single \| 2 \|/);
    const report = JSON.parse(readFileSync(out, 'utf8')) as { cases: { post: { reliability: number } }[]; hparams: { layer: number } };
    expect(report.cases).toHaveLength(2);
    expect(report.hparams.layer).toBe(1); // a decoder layer
  }, 60_000);

  it('ROME refuses T5 with its reason', async () => {
    const { code, stderr } = await locus([...args, '--method', 'rome']);
    expect(code).not.toBe(0);
    expect(stderr).toContain('locus eval: ROME does not edit t5 models (encoder-decoder): ');
  });
});
