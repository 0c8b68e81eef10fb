import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EvalCase } from '../../lib/eval';
import { CpuBackend, Engine } from '../engine';
import { loadSeq2SeqModel } from '../models/load';
import { measureCases } from './metrics';

/**
 * The metrics on an encoder-decoder model go through the same `measureCases` as on a decoder-only
 * one (server/models/editable.ts): prompt → encoder, target → decoder. Checked here against token
 * ids built by hand and a forward pass of the network itself, on the tiny random T5 v1.0 of the
 * parity fixtures (vocabulary 96, 2 + 2 layers).
 */
const DIR = path.resolve(__dirname, '../../data/fixtures/t5/t5-v1_0');
const engine = new Engine(new CpuBackend());

function argmax(values: ArrayLike<number>, from: number, to: number): number {
  let best = from;
  for (let i = from + 1; i < to; i++) if (values[i]! > values[best]!) best = i;
  return best - from;
}

function evalCase(prompt: string, target: string, others: { prompt: string; target: string }[]): EvalCase {
  return {
    id: 'case 0',
    request: { prompt: '{} is the capital of', subject: prompt.split(' ')[0]!, targetNew: target },
    rewritePrompts: [prompt],
    generality: others,
    locality: others.map((o) => ({ prompt: o.prompt, groundTruth: o.target })),
    portability: others,
  };
}

describe('metrics on an encoder-decoder model', () => {
  it('token accuracy is the decoder-side argmax match, equal to a hand-built teacher-forced pass of the network', async () => {
    const lm = await loadSeq2SeqModel(engine, DIR);
    const pairs = [
      { prompt: 'Paris is the capital of', target: ' France' },
      { prompt: 'The mother tongue of Danielle Darrieux is', target: ' German' },
      { prompt: 'translate English to German: The cat', target: ' Paris is the capital' },
    ];
    const { metrics } = measureCases(lm, [evalCase(pairs[0]!.prompt, pairs[0]!.target, pairs.slice(1))]);
    // by hand: encoder = prompt + </s>; decoder = [start, target[0..n-2]]; accuracy over target tokens
    const accuracy = pairs.map(({ prompt, target }) => {
      const encoderIds = lm.tokenizer.encode(prompt).ids;
      expect(encoderIds[encoderIds.length - 1]).toBe(lm.network.spec.eosId);
      const targetIds = lm.tokenizer.encode(target, { addSpecialTokens: false }).ids;
      const decoderIds = [lm.network.spec.decoderStartId, ...targetIds.slice(0, -1)];
      const logits = engine.noGrad(() =>
        engine.tidy(() =>
          lm.network
            .forward({ encoderIds: engine.tensor(Int32Array.from(encoderIds), [1, encoderIds.length], 'i32'), decoderIds: engine.tensor(Int32Array.from(decoderIds), [1, decoderIds.length], 'i32') })
            .logits.valuesSync(),
        ),
      );
      const vocab = lm.network.spec.vocabSize;
      const hits = targetIds.filter((id, j) => argmax(logits, j * vocab, (j + 1) * vocab) === id).length;
      return hits / targetIds.length;
    });
    expect(metrics[0]!.reliability).toBe(accuracy[0]);
    expect(metrics[0]!.generality).toBeCloseTo((accuracy[1]! + accuracy[2]!) / 2, 12);
    expect(metrics[0]!.portability).toBeCloseTo((accuracy[1]! + accuracy[2]!) / 2, 12);
    // no reference: locality is null, as for decoder-only models
    expect(metrics[0]!.locality).toBeNull();
    lm.network.dispose();
  });

  it('exact match agrees with greedy generation; locality compares decoder argmaxes with the pre-edit ones', async () => {
    const lm = await loadSeq2SeqModel(engine, DIR);
    const prompt = 'Paris is the capital of';
    const others = [
      { prompt: 'The cat', target: ' France' },
      { prompt: 'German', target: ' Paris is' },
    ];
    const cases = [evalCase(prompt, ' France', others)];
    const pre = measureCases(lm, cases);
    const m = pre.metrics[0]!;
    // exact match of a pair = greedy decoding reproduces the target's tokens (a random model: none does;
    // server/editing/seq2seq.test.ts has the positive case, after an edit)
    const reproduces = others.map(({ prompt: p, target }) => {
      const ids = lm.tokenizer.encode(target, { addSpecialTokens: false }).ids;
      const greedy = lm.generateIds([lm.encode(p)], { maxNewTokens: ids.length, stopAtEos: false })[0]!;
      return JSON.stringify(greedy) === JSON.stringify(ids) ? 1 : 0;
    });
    expect(m.exactMatch.generality).toBe((reproduces[0]! + reproduces[1]!) / 2);
    // against its own reference, the unchanged model agrees everywhere
    expect(measureCases(lm, cases, pre.locality).metrics[0]!.locality).toBe(1);
    // a reference that differs at the first position of each locality target lowers each by 1/length
    const shifted = pre.locality.map((perCase) => perCase.map((ids) => ids.map((id, j) => (j === 0 ? (id + 1) % lm.network.spec.vocabSize : id))));
    const lengths = others.map((o) => lm.tokenizer.encode(o.target, { addSpecialTokens: false }).ids.length);
    expect(measureCases(lm, cases, shifted).metrics[0]!.locality).toBeCloseTo(1 - (1 / lengths[0]! + 1 / lengths[1]!) / 2, 12);
    lm.network.dispose();
  });
});
