import { describe, expect, it } from 'vitest';
import { benchmarksCsv, type BenchmarkRow } from '@/lib/api/benchmarks';
import { batchCurve, sequentialCurve } from './curves';
import { buildEvalJobs, parseCounts, type EvalForm } from './eval-form';

const form: EvalForm = { methods: ['rome'], dataset: 'world:counterfact-test', n: '10', mode: 'single', batchSizes: '1, 5, 10', checkpoints: '1, 5, 10', useContextTemplates: false };

describe('buildEvalJobs', () => {
  it('makes one job per method (and per batch size in batch mode)', () => {
    const single = buildEvalJobs('world-gpt2', { ...form, methods: ['kn', 'rome'] });
    expect(single).toEqual({
      ok: true,
      inputs: [
        { kind: 'eval', model: 'world-gpt2', method: 'rome', dataset: 'world:counterfact-test', n: 10, mode: 'single', hparams: { useContextTemplates: false } },
        { kind: 'eval', model: 'world-gpt2', method: 'kn', dataset: 'world:counterfact-test', n: 10, mode: 'single', hparams: {} },
      ],
    });
    const batch = buildEvalJobs('world-gpt2', { ...form, methods: ['memit'], mode: 'batch', batchSizes: '10,1, 5,5', useContextTemplates: true });
    expect(batch.ok && batch.inputs.map((i) => i.kind === 'eval' && [i.batchSize, i.hparams])).toEqual([
      [1, {}],
      [5, {}],
      [10, {}],
    ]);
    const seq = buildEvalJobs('world-gpt2', { ...form, mode: 'sequential', checkpoints: '1, 5, 10, 20' });
    expect(seq.ok && seq.inputs[0]).toMatchObject({ mode: 'sequential', checkpoints: [1, 5] });
  });

  it('answers plain errors: no method, N out of range, bad sizes, a method that does not batch', () => {
    expect(buildEvalJobs('m', { ...form, methods: [] })).toMatchObject({ ok: false, field: 'methods' });
    expect(buildEvalJobs('m', { ...form, n: '0' })).toMatchObject({ ok: false, field: 'n' });
    expect(buildEvalJobs('m', { ...form, n: '30' }, 20)).toMatchObject({ ok: false, field: 'n', message: 'Cases: a whole number from 1 to 20.' });
    expect(buildEvalJobs('m', { ...form, mode: 'batch', methods: ['memit'], batchSizes: '2, x' })).toMatchObject({ ok: false, field: 'batchSizes', message: expect.stringContaining('“x”') });
    expect(buildEvalJobs('m', { ...form, mode: 'batch', methods: ['memit'], batchSizes: '20' })).toMatchObject({ ok: false, field: 'batchSizes' });
    expect(buildEvalJobs('m', { ...form, mode: 'batch', methods: ['memit', 'rome'], batchSizes: '1, 5' })).toMatchObject({ ok: false, message: expect.stringContaining('ROME edits one fact per call') });
    expect(buildEvalJobs('m', { ...form, mode: 'batch', methods: ['rome'], batchSizes: '1' }).ok).toBe(true);
    expect(parseCounts('3, -1', 'Checkpoints')).toBe('Checkpoints: “-1” is not a positive whole number.');
  });
});

const metrics = (r: number) => ({ reliability: r, generality: r / 2, locality: 1, portability: null });
function row(over: Partial<BenchmarkRow>): BenchmarkRow {
  return { id: 'job:x', source: 'job', model: 'world-gpt2', dataset: 'world:counterfact-test', method: 'MEMIT', mode: 'batch', batchSize: 10, cases: 10, pre: metrics(0), post: metrics(0.9), secondsPerEdit: 1.5, peakBytes: 2 ** 20, peakRssBytes: 2 ** 21, checkpoints: [], at: '2026-11-25T12:00:00.000Z', ...over };
}

describe('benchmark curves and exports', () => {
  it('draws the batch-size curve per method, single editing at size 1, the newest result per point', () => {
    const rows = [row({ batchSize: 10, post: metrics(0.8) }), row({ batchSize: 10, post: metrics(0.1) }), row({ mode: 'single', batchSize: 1, post: metrics(1) }), row({ method: 'FT-L', batchSize: 10, post: metrics(0.3) })];
    expect(batchCurve(rows, 'reliability')).toEqual({ series: ['MEMIT', 'FT-L'], points: [{ x: 1, MEMIT: 1 }, { x: 10, MEMIT: 0.8, 'FT-L': 0.3 }] });
    expect(batchCurve(rows, 'portability').series).toEqual([]);
  });

  it('draws the sequential curve from the checkpoints of the newest run per method', () => {
    const checkpoints = (r: number) => [1, 10].map((edits) => ({ edits, ...metrics(r / edits) }));
    const rows = [row({ mode: 'sequential', method: 'ROME', checkpoints: checkpoints(1) }), row({ mode: 'sequential', method: 'ROME', checkpoints: checkpoints(0.5) }), row({})];
    expect(sequentialCurve(rows, 'generality')).toEqual({ series: ['ROME'], points: [{ x: 1, ROME: 0.5 }, { x: 10, ROME: 0.05 }] });
  });

  it('exports CSV with a header, fractions, empty cells for absent metrics and quoted fields', () => {
    const csv = benchmarksCsv([row({ method: 'KN, "odd"' })]).split('\n');
    expect(csv[0]).toBe('model,dataset,method,mode,batch_size,cases,reliability,generality,locality,portability,pre_reliability,pre_generality,pre_locality,pre_portability,seconds_per_edit,peak_engine_bytes,peak_rss_bytes,source,at');
    expect(csv[1]).toBe('world-gpt2,world:counterfact-test,"KN, ""odd""",batch,10,10,0.9,0.45,1,,0,0,1,,1.5,1048576,2097152,job:x,2026-11-25T12:00:00.000Z');
  });
});
