import { mkdtemp, writeFile, cp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CpuBackend, Engine } from '../engine';
import { logSoftmax, mulScalar, sum, takeAlongLast } from '../engine/ops';
import { addAt, captureInto, Hooks, replaceAt } from './hooks';
import { loadCheckpointDir, loadLanguageModel } from './load';
import { ModelLoadError } from './weights';

const GPT2 = path.resolve(__dirname, '../../data/fixtures/parity/gpt2');
const engine = new Engine(new CpuBackend());

async function copyFixture(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'locus-model-'));
  await cp(GPT2, dir, { recursive: true });
  return dir;
}

describe('hooks', () => {
  it('a delta added at one position has the gradient of the activation there (what ROME optimises)', async () => {
    const model = await loadCheckpointDir(engine, GPT2);
    const ids = engine.tensor(Int32Array.from([5, 17, 42, 8, 77]), [1, 5], 'i32');
    const delta = engine.parameter(new Array(32).fill(0), [32]);
    const captured = new Map();
    const hooks = new Hooks()
      .on('mlp_out', 0, captureInto(captured, { grad: true }))
      .on('mlp_out', 0, (x) => addAt(x, [2], delta));
    const { logits } = model.forward({ ids, hooks });
    const loss = sum(takeAlongLast(logSoftmax(logits), engine.tensor(Int32Array.from([1, 2, 3, 4, 5]), [1, 5], 'i32')));
    const [gDelta, gAct] = engine.grad(loss, [delta, captured.get('mlp_out.0')]);
    const actGrad = gAct!.valuesSync();
    expect(Array.from(gDelta!.valuesSync())).toEqual(Array.from(actGrad.subarray(2 * 32, 3 * 32)));
    expect(Math.max(...Array.from(gDelta!.valuesSync(), Math.abs))).toBeGreaterThan(0);
    delta.dispose();
    for (const t of captured.values()) t.dispose();
    model.dispose();
  });

  it('replacing an activation with its own clean value changes nothing; scaling it does', async () => {
    const model = await loadCheckpointDir(engine, GPT2);
    const ids = engine.tensor(Int32Array.from([5, 17, 42, 8]), [1, 4], 'i32');
    const clean = new Map();
    const base = engine.noGrad(() => model.forward({ ids, hooks: new Hooks().on('resid_post', 0, captureInto(clean)) }).logits.valuesSync());
    const state = clean.get('resid_post.0')!;
    const same = engine.noGrad(() => model.forward({ ids, hooks: new Hooks().on('resid_post', 0, (x) => replaceAt(x, [1], state)) }).logits.valuesSync());
    expect(Array.from(same)).toEqual(Array.from(base));
    const moved = engine.noGrad(() => model.forward({ ids, hooks: new Hooks().on('resid_post', 0, (x) => replaceAt(x, [1], mulScalar(state, 2))) }).logits.valuesSync());
    // position 0 cannot see position 1 (causal), later positions can
    expect(Array.from(moved.subarray(0, 96))).toEqual(Array.from(base.subarray(0, 96)));
    expect(Array.from(moved.subarray(96))).not.toEqual(Array.from(base.subarray(96)));
    state.dispose();
    model.dispose();
  });

  it('a forward from a layer with its captured residual equals the full forward; a residual of another shape is refused', async () => {
    const model = await loadCheckpointDir(engine, GPT2);
    const ids = engine.tensor(Int32Array.from([5, 17, 42, 8, 3, 9]), [2, 3], 'i32');
    const mask = [[1, 1, 1], [1, 1, 0]];
    const clean = new Map();
    const last = model.spec.layers - 1;
    const base = engine.noGrad(() => model.forward({ ids, attentionMask: mask, hooks: new Hooks().on('resid_pre', last, captureInto(clean)) }).logits.valuesSync());
    const residual = clean.get(`resid_pre.${last}`)!;
    const resumed = engine.noGrad(() => model.forward({ ids, attentionMask: mask, from: { layer: last, residual } }).logits.valuesSync());
    expect(Array.from(resumed)).toEqual(Array.from(base));
    // the residual given is the one used: doubled, it gives what a hook doubling it gives
    const doubled = mulScalar(residual, 2);
    const hooked = engine.noGrad(() => model.forward({ ids, attentionMask: mask, hooks: new Hooks().on('resid_pre', last, () => doubled) }).logits.valuesSync());
    const fromDoubled = engine.noGrad(() => model.forward({ ids, attentionMask: mask, from: { layer: last, residual: doubled } }).logits.valuesSync());
    expect(Array.from(fromDoubled)).toEqual(Array.from(hooked));
    expect(Array.from(fromDoubled)).not.toEqual(Array.from(base));
    doubled.dispose();
    const short = engine.tensor(new Float32Array(2 * 2 * model.spec.hidden), [2, 2, model.spec.hidden]);
    expect(() => model.forward({ ids, from: { layer: last, residual: short } })).toThrow(/does not fit ids \[2, 3\]/);
    short.dispose();
    residual.dispose();
    model.dispose();
  });
});

describe('bad input gets a clear error', () => {
  it('missing folder, missing config, unknown architecture, invalid config', async () => {
    await expect(loadLanguageModel(engine, '/nonexistent/model')).rejects.toThrow('/nonexistent/model: not found');
    const dir = await copyFixture();
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'mamba' }));
    await expect(loadCheckpointDir(engine, dir)).rejects.toThrow(/unknown architecture: model_type "mamba"; supported: gpt2, gptj, llama, mistral, gpt_neox/);
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'gpt2', n_embd: 'wide' }));
    await expect(loadCheckpointDir(engine, dir)).rejects.toThrow(/config.json for gpt2 is invalid: .*n_embd/);
  });

  it('a checkpoint that does not match its config lists the mismatches', async () => {
    const dir = await copyFixture();
    const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8'));
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ ...config, n_layer: 3, n_embd: 48, n_head: 4 }));
    const before = engine.memory().tensors;
    const err = await loadCheckpointDir(engine, dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(String(err)).toMatch(/tensor transformer.wte.weight has shape \[96,32\], the config implies \[96,48\]/);
    expect(String(err)).toMatch(/\.\.\. and \d+ more/);
    expect(engine.memory().tensors).toBe(before); // nothing left behind
  });

  it('a tokenizer larger than the embedding is refused', async () => {
    const dir = await copyFixture();
    const vocab = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`t${i}`, i]));
    await writeFile(
      path.join(dir, 'tokenizer.json'),
      JSON.stringify({
        version: '1.0',
        model: { type: 'BPE', vocab, merges: [], unk_token: 't0', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false },
        pre_tokenizer: { type: 'Whitespace' },
        added_tokens: [],
      }),
    );
    await expect(loadLanguageModel(engine, dir)).rejects.toThrow(/the tokenizer has 200 tokens but the model's embedding has 96 rows/);
  });
});
