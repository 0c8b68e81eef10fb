import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { collectTrace, traceNoise, traceTokens, type ResolvedTraceSettings, type TraceEvent, type TraceInput, type TraceResult } from '../../lib/tracing';
import { CpuBackend, Engine } from '../engine';
import type { DecoderOnlyLM } from '../models/families';
import { loadCheckpointDir } from '../models/load';
import { EngineTraceRunner } from './runner';
import { traceTokenStream } from './trace';

/**
 * The token-level trace on the tiny random-weight GPT-2 of the parity fixtures (2 layers, 32 wide,
 * 96 tokens, no tokenizer): exact identities of the method rather than what a real model knows.
 */
const FIXTURE = path.resolve(__dirname, '../../data/fixtures/parity/gpt2');
const engine = new Engine(new CpuBackend());
let model: DecoderOnlyLM;

const IDS = [5, 17, 42, 8, 63, 21, 9, 30];
const INPUT: TraceInput = {
  prompt: IDS.map((id) => `<${id}>`).join(''),
  subject: '<17><42><8>',
  target: '<12>',
  tokens: IDS.map((id) => `<${id}>`),
  tokenIds: IDS,
  subjectRange: { start: 1, end: 4 },
  targetToken: { id: 12, text: '<12>' },
};
const SETTINGS: ResolvedTraceSettings = { kinds: ['hidden', 'mlp', 'attn'], samples: 4, noiseLevel: 1.5, window: 2, seed: 7, positions: 'all' };

const run = (settings: Partial<ResolvedTraceSettings> = {}, maxBatch?: number) => collectTrace(traceTokenStream(model, INPUT, { ...SETTINGS, ...settings }, { maxBatch }));
const withoutTime = ({ seconds, ...rest }: TraceResult) => (expect(seconds).toBeGreaterThanOrEqual(0), rest);
const effectsOf = (result: TraceResult, kind: string) => result.traces.find((t) => t.kind === kind)!.effects;

beforeAll(async () => {
  model = await loadCheckpointDir(engine, FIXTURE);
});

describe('causal trace on the tiny GPT-2 parity model', () => {
  it('restoring every position of the last layer’s hidden state gives back p_clean exactly', async () => {
    const runner = new EngineTraceRunner(model);
    const noise = traceNoise({ seed: 1, samples: 3, subjectTokens: 3, hidden: runner.hidden, level: 2 });
    const pClean = await runner.clean({ ids: IDS, subject: INPUT.subjectRange, targetId: 12, noise, samples: 3, kinds: ['hidden'] });
    const all = IDS.map((_, t) => t);
    const restored = await runner.corrupted([0, 1, 2].map((sample) => ({ sample, restore: [{ kind: 'hidden' as const, layers: [1], tokens: all }] })));
    const corrupted = await runner.corrupted([0, 1, 2].map((sample) => ({ sample, restore: [] })));
    runner.dispose();
    expect([...restored]).toEqual([pClean, pClean, pClean].map(Math.fround));
    expect([...corrupted].every((p) => p !== Math.fround(pClean))).toBe(true);
  });

  it('gives total effect = p_clean - p_corrupted, recovered in full by the last layer’s hidden state at the last token', async () => {
    const result = await run();
    expect(result.totalEffect).toBe(result.pClean - result.pCorrupted);
    expect(result.totalEffect).not.toBe(0);
    const hidden = effectsOf(result, 'hidden');
    expect(hidden[1]![IDS.length - 1]).toBeCloseTo(result.totalEffect, 7);
  });

  it('with noise level 0 every indirect effect is 0 and p_corrupted = p_clean', async () => {
    const result = await run({ noiseLevel: 0 });
    expect(result.pCorrupted).toBeCloseTo(result.pClean, 7);
    for (const { effects } of result.traces) for (const row of effects) for (const e of row) expect(Math.abs(e!)).toBeLessThan(1e-7);
  });

  it('the same seed gives identical results; another seed other noise', async () => {
    const [a, b, c] = [await run(), await run(), await run({ seed: 8 })];
    expect(withoutTime(a)).toEqual(withoutTime(b));
    expect(c.pCorrupted).not.toBe(a.pCorrupted);
  });

  it('batches packed across rows (maxBatch) give the effects of one row per batch', async () => {
    const [rowwise, packed, single, byDefault] = [await run({}, 28), await run({}, 12), await run({}, 1), await run()];
    for (const other of [packed, single, byDefault]) {
      other.traces.forEach((trace, k) =>
        trace.effects.forEach((row, l) => row.forEach((e, t) => expect(e).toBeCloseTo(rowwise.traces[k]!.effects[l]![t]!, 7))),
      );
    }
  });

  it('streams clean, one row per (kind, layer) in order, then done; layers x tokens with zeros before the subject', async () => {
    const events: TraceEvent[] = [];
    for await (const event of traceTokenStream(model, INPUT, SETTINGS)) events.push(event);
    expect(events.map((e) => (e.type === 'row' ? `${e.kind}${e.layer}` : e.type))).toEqual(['clean', 'hidden0', 'hidden1', 'mlp0', 'mlp1', 'attn0', 'attn1', 'done']);
    const done = events.at(-1)!;
    if (done.type !== 'done') throw new Error('no result');
    for (const { effects } of done.result.traces) {
      expect(effects).toHaveLength(2);
      for (const row of effects) {
        expect(row).toHaveLength(IDS.length);
        expect(row[0]).toBe(0); // before the subject: nothing to restore
        expect(row.every((e) => typeof e === 'number')).toBe(true);
      }
    }
    expect(done.result.suggestion).toMatchObject({ kind: 'mlp', token: 3 });
    expect(done.result.suggestion.effects).toEqual(effectsOf(done.result, 'mlp').map((row) => row[3]));
  });

  it('sharing the clean prefix through a KV cache gives the effects of recomputing it', async () => {
    const shared = await run();
    const runner = new EngineTraceRunner(model, { sharePrefix: false });
    const recomputed = await collectTrace(traceTokens(runner, INPUT, SETTINGS));
    runner.dispose();
    expect(recomputed.pClean).toBeCloseTo(shared.pClean, 7);
    expect(recomputed.pCorrupted).toBeCloseTo(shared.pCorrupted, 7);
    shared.traces.forEach((trace, k) => trace.effects.forEach((row, l) => row.forEach((e, t) => expect(e).toBeCloseTo(recomputed.traces[k]!.effects[l]![t]!, 7))));
  });

  it("'key' positions trace only the subject's last token and the last token", async () => {
    const result = await run({ positions: 'key' });
    const full = await run();
    for (const [k, { effects }] of result.traces.entries()) {
      for (const [l, row] of effects.entries()) {
        row.forEach((e, t) => {
          if (t === 3 || t === IDS.length - 1) expect(e).toBeCloseTo(full.traces[k]!.effects[l]![t]!, 7);
          else expect(e).toBeNull();
        });
      }
    }
  });

  it('leaves the live-tensor count unchanged, also when the consumer stops early', async () => {
    await run(); // warm any lazily created state
    const before = engine.memory().tensors;
    await run({}, 8);
    expect(engine.memory().tensors).toBe(before);
    for await (const event of traceTokenStream(model, INPUT, SETTINGS)) if (event.type === 'row') break;
    expect(engine.memory().tensors).toBe(before);
    expect(engine.memory().tapeNodes).toBe(0);
  });

  it('rejects a subject outside the prompt and a target outside the vocabulary', async () => {
    await expect(collectTrace(traceTokenStream(model, { ...INPUT, subjectRange: { start: 6, end: 9 } }, SETTINGS))).rejects.toThrow(/subject tokens \[6, 9\) outside the prompt's 8 tokens/);
    await expect(collectTrace(traceTokenStream(model, { ...INPUT, targetToken: { id: 96, text: '?' } }, SETTINGS))).rejects.toThrow(/target id 96 outside the vocabulary \(96\)/);
  });
});
