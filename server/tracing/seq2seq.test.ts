import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { traceNoise } from '../../lib/tracing';
import { CpuBackend, Engine } from '../engine';
import { loadSeq2SeqModel } from '../models/load';
import { Seq2SeqTraceRunner, traceSeq2Seq } from './seq2seq';
import { traceInput } from './trace';

/** Causal tracing with the subject in the encoder input, on the tiny random T5 v1.0 fixture. */
const DIR = path.resolve(__dirname, '../../data/fixtures/t5/t5-v1_0');
const engine = new Engine(new CpuBackend());
const request = { prompt: 'The capital of France is', subject: 'France', target: ' Paris' };

describe('causal tracing on T5', () => {
  it('gives an encoder heatmap (layers x encoder tokens) and a decoder one; restoring the last decoder state recovers p_clean', async () => {
    const lm = await loadSeq2SeqModel(engine, DIR);
    const live = engine.memory().tensors;
    const { encoder, decoder } = await traceSeq2Seq(lm, request);
    expect(engine.memory().tensors).toBe(live);
    // encoder input: the prompt's tokens + </s>; the subject is one token, '▁France'
    expect(encoder.tokens[encoder.tokens.length - 1]).toBe('</s>');
    expect(encoder.tokens.slice(encoder.subjectRange.start, encoder.subjectRange.end)).toEqual(['France']);
    expect(encoder.layers).toBe(2);
    // a random model gives the target little probability; the noise must still move it
    expect(Math.abs(encoder.totalEffect)).toBeGreaterThan(1e-3 * encoder.pClean);
    for (const t of encoder.traces) {
      expect(t.effects).toHaveLength(2);
      for (const row of t.effects) {
        expect(row).toHaveLength(encoder.tokens.length);
        // before the subject nothing is corrupted: effect 0 without running
        for (let i = 0; i < encoder.subjectRange.start; i++) expect(row[i]).toBe(0);
        expect(row.every((v) => v !== null && Number.isFinite(v))).toBe(true);
      }
    }
    expect(decoder.tokens).toEqual(['<pad>']);
    expect(decoder.traces.map((t) => t.kind)).toEqual(['hidden', 'mlp', 'attn']);
    // the head reads only the last decoder layer's output: restoring it there gives p_clean back
    const hidden = decoder.traces.find((t) => t.kind === 'hidden')!.effects;
    expect(hidden[1]![0]).toBeCloseTo(encoder.totalEffect, 6);
    // lower in the decoder, the corrupted cross-attention of later layers still acts: not all of it
    expect(Math.abs(hidden[0]![0]! - encoder.totalEffect)).toBeGreaterThan(1e-6);
    lm.network.dispose();
  });

  it('restoring every encoder token at the last encoder layer gives p_clean exactly; no noise gives no effect', async () => {
    const lm = await loadSeq2SeqModel(engine, DIR);
    const input = traceInput(lm, request);
    const runner = new Seq2SeqTraceRunner(lm.network);
    const samples = 2;
    const subjectTokens = input.subjectRange.end - input.subjectRange.start;
    const noise = traceNoise({ seed: 1, samples, subjectTokens, hidden: 32, level: 3 });
    const pClean = await runner.clean({ ids: input.tokenIds, subject: input.subjectRange, targetId: input.targetToken.id, noise, samples, kinds: ['hidden'] });
    const all = input.tokenIds.map((_, t) => t);
    const [corrupted, restored] = await runner.corrupted([
      { sample: 0, restore: [] },
      { sample: 0, restore: [{ kind: 'hidden', layers: [1], tokens: all }] },
    ]);
    expect(corrupted).not.toBe(pClean);
    expect(restored).toBe(pClean);
    // decoder positions are checked against the decoder's own length
    await expect(runner.corruptedIn('decoder', [{ sample: 0, restore: [{ kind: 'hidden', layers: [0], tokens: [1] }] }])).rejects.toThrow(/decoder token 1 outside its 1 tokens/);
    runner.dispose();

    const quiet = await traceSeq2Seq(lm, { ...request, noiseLevel: 0, samples: 2 });
    expect(quiet.encoder.pCorrupted).toBe(quiet.encoder.pClean);
    // equal up to the rounding of batches of different sizes (cells are packed several to a pass)
    for (const t of [...quiet.encoder.traces, ...quiet.decoder.traces]) for (const row of t.effects) for (const v of row) expect(Math.abs(v!)).toBeLessThan(1e-7);
    lm.network.dispose();
  });
});
