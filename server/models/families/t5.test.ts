import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CpuBackend, Engine } from '../../engine';
import { logSoftmax, sum, takeAlongLast } from '../../engine/ops';
import { openSafetensors } from '../formats/safetensors';
import { captureInto, Hooks } from '../hooks';
import { loadLanguageModel, loadSeq2SeqDir, loadSeq2SeqModel } from '../load';
import { Tokenizer } from '../tokenizer';
import { relativePositionBucket } from './t5';

/**
 * Parity with PyTorch: reference/make_t5_fixtures.py built tiny random-weight T5 v1.0 (ReLU, tied
 * embeddings) and v1.1 (gated-GELU, untied head) models with transformers 4.46.3 and saved what
 * PyTorch 2.5.1 computed in float32 on the CPU.
 */
const FIXTURES = path.resolve(__dirname, '../../../data/fixtures/t5');
const VARIANTS = ['t5-v1_0', 't5-v1_1'];
const engine = new Engine(new CpuBackend());

async function expected(variant: string) {
  const file = await openSafetensors(path.join(FIXTURES, variant, 'expected.safetensors'));
  return async (name: string) => {
    const { data, shape } = await file.read(name);
    return { data, shape };
  };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function rows(data: ArrayLike<number>, shape: readonly number[]): number[][] {
  const [b, t] = shape as [number, number];
  return Array.from({ length: b }, (_, i) => Array.from({ length: t }, (_, j) => data[i * t + j]!));
}

describe('T5 relative position buckets', () => {
  it('equal PyTorch for relative positions -160..160, bidirectional and causal', async () => {
    const file = await openSafetensors(path.join(FIXTURES, 'buckets.safetensors'));
    const relative = (await file.read('relative_positions')).data as Int32Array;
    const tables = file.names().filter((n) => n !== 'relative_positions');
    expect(tables.length).toBe(4);
    for (const name of tables) {
      const [kind, buckets, distance] = name.split('_') as [string, string, string];
      const want = Array.from((await file.read(name)).data);
      const got = Array.from(relative, (r) => relativePositionBucket(r, kind === 'bi', Number(buckets), Number(distance)));
      expect(got, name).toEqual(want);
    }
  });
});

describe.each(VARIANTS)('%s matches PyTorch', (variant) => {
  const dir = path.join(FIXTURES, variant);

  it('teacher-forced logits (max abs error < 1e-4), with and without encoder padding', async () => {
    const read = await expected(variant);
    const model = await loadSeq2SeqDir(engine, dir);
    const enc = await read('encoder_ids');
    const dec = await read('decoder_ids');
    const encoderIds = engine.tensor(enc.data as Int32Array, enc.shape, 'i32');
    const decoderIds = engine.tensor(dec.data as Int32Array, dec.shape, 'i32');
    const logits = engine.noGrad(() => model.forward({ encoderIds, decoderIds }).logits.valuesSync());
    const error = maxAbsDiff(logits, (await read('logits')).data);
    expect(error).toBeLessThan(1e-4);

    const mask = await read('encoder_mask');
    const encoderMask = rows(mask.data, mask.shape);
    expect(encoderMask[1]!.filter((m) => m === 0).length).toBe(2);
    const padded = engine.noGrad(() => model.forward({ encoderIds, encoderMask, decoderIds }).logits.valuesSync());
    const paddedError = maxAbsDiff(padded, (await read('padded_logits')).data);
    expect(paddedError).toBeLessThan(1e-4);
    // padding changes the second sequence's logits: the mask is really used
    expect(maxAbsDiff(padded, logits)).toBeGreaterThan(1e-2);
    console.info(`${variant}: max abs logit error ${error.toExponential(2)} (padded ${paddedError.toExponential(2)})`);
    model.dispose();
  });

  it('gradients of the targets log-likelihood w.r.t. FFN weights (relative error < 1e-4)', async () => {
    const read = await expected(variant);
    const model = await loadSeq2SeqDir(engine, dir);
    const enc = await read('encoder_ids');
    const dec = await read('decoder_ids');
    const tgt = await read('targets');
    const wo = model.params.get(model.mlpOutWeight('decoder', 1).name)!;
    const wiName = variant === 't5-v1_0' ? 'encoder.block.0.layer.1.DenseReluDense.wi.weight' : 'encoder.block.0.layer.1.DenseReluDense.wi_0.weight';
    const wi = model.params.get(wiName)!;
    engine.watch(wo);
    engine.watch(wi);
    const captured = new Map();
    const { logits } = model.forward({
      encoderIds: engine.tensor(enc.data as Int32Array, enc.shape, 'i32'),
      decoderIds: engine.tensor(dec.data as Int32Array, dec.shape, 'i32'),
      hooks: { decoder: new Hooks().on('cross_attn_out', 1, captureInto(captured)) },
    });
    expect(captured.get('cross_attn_out.1').shape).toEqual([2, 6, 32]);
    const loss = sum(takeAlongLast(logSoftmax(logits), engine.tensor(tgt.data as Int32Array, tgt.shape, 'i32')));
    const [gradWo, gradWi] = engine.grad(loss, [wo, wi]);
    // PyTorch's and our f32 sums run in different orders; relative to the largest entry, their
    // rounding differs by ~1e-6 here, so 1e-4 leaves room while a wrong term (a missing scale, a
    // wrong activation derivative) moves it by 1e-2 or more
    for (const [name, grad] of [['grad_decoder_1_wo', gradWo], ['grad_encoder_0_wi', gradWi]] as const) {
      const want = (await read(name)).data;
      const scale = Math.max(...Array.from(want, Math.abs));
      expect(scale).toBeGreaterThan(1e-3);
      const relative = maxAbsDiff(grad!.valuesSync(), want) / scale;
      console.info(`${variant} ${name}: relative error ${relative.toExponential(2)} (scale ${scale.toPrecision(3)})`);
      expect(relative).toBeLessThan(1e-4);
    }
    wo.requiresGrad = false;
    wi.requiresGrad = false;
    for (const x of captured.values()) x.dispose();
    model.dispose();
  });

  it('greedy generation with the KV cache equals argmax decoding without it, and transformers', async () => {
    const read = await expected(variant);
    const lm = await loadSeq2SeqModel(engine, dir);
    const enc = await read('encoder_ids');
    const mask = await read('encoder_mask');
    // the fixture's padded batch: drop the pads, the model pads again
    const prompts = rows(enc.data, enc.shape).map((r, b) => r.filter((_, j) => rows(mask.data, mask.shape)[b]![j] === 1));
    const withCache = lm.generateIds(prompts, { maxNewTokens: 8 });
    const withoutCache = lm.generateIds(prompts, { maxNewTokens: 8, useCache: false });
    expect(withCache).toEqual(withoutCache);
    // transformers: start token, then the new tokens; pads after a sequence's </s>
    const greedy = await read('greedy_ids');
    const hf = rows(greedy.data, greedy.shape).map((r) => {
      const tokens = r.slice(1);
      const eos = tokens.indexOf(lm.network.spec.eosId);
      return eos >= 0 ? tokens.slice(0, eos + 1) : tokens;
    });
    expect(withCache).toEqual(hf);
    lm.network.dispose();
  });
});

describe('T5 hooks and memory', () => {
  it('each stack has its own hook points, and a hook changes what follows it', async () => {
    const model = await loadSeq2SeqDir(engine, path.join(FIXTURES, 't5-v1_0'));
    const read = await expected('t5-v1_0');
    const enc = await read('encoder_ids');
    const dec = await read('decoder_ids');
    const input = { encoderIds: engine.tensor(enc.data as Int32Array, enc.shape, 'i32'), decoderIds: engine.tensor(dec.data as Int32Array, dec.shape, 'i32') };
    const encoder = new Map();
    const decoder = new Map();
    const base = engine.noGrad(() => {
      const hooks = { encoder: new Hooks().on('mlp_key', '*', captureInto(encoder)), decoder: new Hooks().on('mlp_key', '*', captureInto(decoder)).on('cross_attn_out', '*', captureInto(decoder)) };
      return model.forward({ ...input, hooks }).logits.valuesSync();
    });
    expect([...encoder.keys()]).toEqual(['mlp_key.0', 'mlp_key.1']);
    expect(encoder.get('mlp_key.0').shape).toEqual([2, 9, 48]); // [B, S, d_ff]
    expect([...decoder.keys()].sort()).toEqual(['cross_attn_out.0', 'cross_attn_out.1', 'mlp_key.0', 'mlp_key.1']);
    expect(decoder.get('mlp_key.1').shape).toEqual([2, 6, 48]); // [B, T, d_ff]
    for (const x of [...encoder.values(), ...decoder.values()]) x.dispose();
    for (const stack of ['encoder', 'decoder'] as const) {
      const zeroed = engine.noGrad(() => {
        const hooks = { [stack]: new Hooks().on('mlp_out', 1, (x) => engine.zeros(x.shape)) };
        return model.forward({ ...input, hooks }).logits.valuesSync();
      });
      expect(maxAbsDiff(zeroed, base), stack).toBeGreaterThan(1e-2);
    }
    model.dispose();
  });

  it('generation frees every tensor it made', async () => {
    const lm = await loadSeq2SeqModel(engine, path.join(FIXTURES, 't5-v1_1'));
    const before = engine.memory();
    lm.generate(['Paris is the capital of', 'translate English to German: The house'], { maxNewTokens: 5 });
    lm.generateIds([[5, 6, 7, 1]], { maxNewTokens: 3, useCache: false });
    expect(engine.memory()).toEqual(before);
    lm.network.dispose();
  });
});

describe('T5 tokenizer and loading', () => {
  it('the Unigram tokenizer.json gives the Rust tokenizers ids and decodes back', async () => {
    const cases = JSON.parse(await readFile(path.join(FIXTURES, 'tokenizer-cases.json'), 'utf8')) as { text: string; ids: number[] }[];
    const tok = await Tokenizer.fromFile(path.join(FIXTURES, 't5-v1_0', 'tokenizer.json'));
    expect(tok.eosId).toBe(1);
    expect(tok.padId).toBe(0);
    for (const { text, ids } of cases) {
      expect(tok.encode(text).ids, text).toEqual(ids);
      expect(ids[ids.length - 1]).toBe(1); // "$A </s>"
      // T5's normalizer folds runs of spaces and strips the right end, so decoding gives that form
      const normalized = text.replace(/ {2,}/g, ' ').trimEnd();
      if (!ids.includes(2)) expect(tok.decode(ids, { skipSpecialTokens: true }), text).toBe(normalized);
    }
    // offsets still locate a subject after folded spaces (what editing and tracing index with)
    const prompt = cases.find((c) => c.text.includes('  '))!.text;
    const { start, end } = tok.findSubjectTokens(prompt, 'spaces');
    const pieces = tok.encode(prompt).ids.slice(start, end).map((id) => tok.decode([id]));
    expect(pieces.join('').trim()).toBe('spaces');
  });

  it('scores targets on the decoder side consistently with a batch, and decoder-only loaders refuse T5', async () => {
    const lm = await loadSeq2SeqModel(engine, path.join(FIXTURES, 't5-v1_1'));
    const pairs = [
      { prompt: 'Paris is the capital of', target: ' France' },
      { prompt: 'The mother tongue of Danielle Darrieux is', target: ' French actress' },
    ];
    const batch = lm.score(pairs);
    const single = pairs.map((p) => lm.score([p])[0]!);
    for (const [i, s] of single.entries()) {
      expect(batch[i]!.tokens.map((t) => t.id)).toEqual(s.tokens.map((t) => t.id));
      expect(Math.abs(batch[i]!.logProb - s.logProb)).toBeLessThan(1e-4);
      expect(s.logProb).toBeLessThan(0);
    }
    // the first target token's score is the first decoder step's distribution
    const top = lm.topK([pairs[0]!.prompt], 200)[0]!;
    expect(top.length).toBe(lm.tokenizer.vocabSize); // the model's 96 rows, less the 19 the tokenizer has no text for
    const first = single[0]!.tokens[0]!;
    expect(Math.log(top.find((t) => t.id === first.id)!.prob)).toBeCloseTo(first.logProb, 4);
    lm.network.dispose();
    await expect(loadLanguageModel(engine, path.join(FIXTURES, 't5-v1_1'))).rejects.toThrow(/encoder-decoder model.*ROME, MEMIT/);
  });
});
