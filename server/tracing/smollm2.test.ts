import { describe, expect, it } from 'vitest';
import type { TraceEvent, TraceResult } from '../../lib/tracing';
import { CpuBackend, Engine } from '../engine';
import { loadLanguageModel } from '../models/load';
import { smollm2Path } from '../models/registry';
import { TraceRequestError, trace, traceStream } from './trace';

/**
 * ROME's qualitative finding on the real pretrained model, SmolLM2-135M-Instruct (30 layers), for
 * CounterFact's first record. Only the subject's last token and the last token are traced
 * (positions 'key'), which is what the assertions read: one to two minutes on 2 CPU cores.
 * Recorded on the dev machine (10 samples, seed 1; effects at " Daniel|le| Dar|rie|ux"'s "ux"):
 * hidden peaks at layer 12 (0.131 of a total effect of 0.182) and is gone from layer 23; the last
 * token's hidden state carries 0.18 from layer 23 on; the MLP window peaks at layer 0 (0.100).
 * Skipped, saying why, when the model is not registered (`npm run models:smollm2`).
 */
const gguf = smollm2Path();
const FACT = { prompt: 'The mother tongue of Danielle Darrieux is', subject: 'Danielle Darrieux', target: ' French' };

const column = (result: TraceResult, kind: string, token: number) => result.traces.find((t) => t.kind === kind)!.effects.map((row) => row[token]!);
const max = (xs: number[]) => Math.max(...xs);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe.skipIf(!gguf)('causal trace on SmolLM2-135M-Instruct' + (gguf ? '' : ' - not registered: run `npm run models:smollm2`'), () => {
  const engine = new Engine(new CpuBackend());
  const loading = loadLanguageModel(engine, gguf!);

  it('finds the subject’s last token early-to-middle and the last token late, as ROME does', { timeout: 400_000 }, async () => {
    const lm = await loading;
    const before = engine.memory().tensors;
    const events: TraceEvent[] = [];
    for await (const event of traceStream(lm, { ...FACT, kinds: ['hidden', 'mlp'], positions: 'key' })) events.push(event);
    expect(engine.memory().tensors).toBe(before);
    const done = events.at(-1)!;
    if (done.type !== 'done') throw new Error('no result');
    const result = done.result;
    const { layers, subjectRange, tokens } = result;
    const subjectLast = subjectRange.end - 1;
    const last = tokens.length - 1;
    expect(tokens.slice(subjectRange.start, subjectRange.end).join('').trim()).toBe('Danielle Darrieux');
    expect(result.targetToken.text).toBe(' French');
    expect(events.filter((e) => e.type === 'row')).toHaveLength(2 * layers);

    // corrupting the subject hurts: p_clean 0.190, p_corrupted 0.008
    expect(result.pClean).toBeGreaterThan(2 * result.pCorrupted);
    // the last layer's hidden state at the last token is the whole output: it restores everything
    expect(column(result, 'hidden', last)[layers - 1]).toBeCloseTo(result.totalEffect, 4);
    // MLP effect at the subject's last token peaks in the first two thirds of the layers
    expect(result.suggestion.kind).toBe('mlp');
    expect(result.suggestion.layer).toBeLessThan((2 * layers) / 3);
    // the subject's last token matters early and middle, not at the end (the fact has moved on)
    const subjectHidden = column(result, 'hidden', subjectLast);
    expect(max(subjectHidden.slice(0, Math.floor((2 * layers) / 3)))).toBeGreaterThan(0.15 * result.totalEffect);
    expect(max(subjectHidden.slice(Math.floor((5 * layers) / 6)))).toBeLessThan(0.05 * result.totalEffect);
    // the last token's hidden state only carries the answer in late layers
    const lastHidden = column(result, 'hidden', last);
    expect(mean(lastHidden.slice(0, layers / 2))).toBeLessThan(0.1 * result.totalEffect);
    expect(mean(lastHidden.slice(Math.floor((5 * layers) / 6)))).toBeGreaterThan(0.5 * result.totalEffect);
  });

  it('says clearly when the subject is not in the prompt or the target is empty', async () => {
    const lm = await loading;
    await expect(trace(lm, { ...FACT, subject: 'Marie Curie' })).rejects.toThrow(TraceRequestError);
    await expect(trace(lm, { ...FACT, subject: 'Marie Curie' })).rejects.toThrow(/"Marie Curie" not found/);
    await expect(trace(lm, { ...FACT, target: '' })).rejects.toThrow(/target/);
  });
});
