import { describe, expect, it } from 'vitest';
import {
  collectTrace,
  noiseLevelFromEmbeddings,
  planTrace,
  restoreWindow,
  suggestLayer,
  traceEventSchema,
  traceNoise,
  traceRequestSchema,
  traceResultSchema,
  traceTokens,
  type CorruptedRow,
  type ResolvedTraceSettings,
  type RunnerSetup,
  type TraceEvent,
  type TraceInput,
  type TraceKind,
  type TraceRunner,
} from '.';

describe('restoreWindow', () => {
  it("follows ROME's range(max(0, l - w//2), min(L, l - (-w//2))) for MLP and attention", () => {
    expect(restoreWindow('mlp', 7, 48, 10)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(restoreWindow('attn', 0, 48, 10)).toEqual([0, 1, 2, 3, 4]);
    expect(restoreWindow('mlp', 47, 48, 10)).toEqual([42, 43, 44, 45, 46, 47]);
    expect(restoreWindow('mlp', 10, 48, 5)).toEqual([8, 9, 10, 11, 12]);
    expect(restoreWindow('mlp', 1, 2, 10)).toEqual([0, 1]);
  });

  it('restores the single residual state for the hidden kind, and rejects layers out of range', () => {
    expect(restoreWindow('hidden', 5, 12, 10)).toEqual([5]);
    expect(() => restoreWindow('hidden', 12, 12, 10)).toThrow(/layer 12 outside 0..11/);
  });
});

describe('planTrace', () => {
  const base = { layers: 3, tokens: 6, subject: { start: 2, end: 4 }, kinds: ['hidden', 'mlp'] as TraceKind[], window: 2, samples: 4, positions: 'all' as const };

  it('runs no cell before the subject but keeps its columns, rows kind by kind and layer by layer', () => {
    const plan = planTrace(base);
    expect(plan.columns).toEqual([0, 1, 2, 3, 4, 5]);
    expect(plan.traced).toEqual([2, 3, 4, 5]);
    expect(plan.rows.map((r) => `${r.kind}${r.layer}`)).toEqual(['hidden0', 'hidden1', 'hidden2', 'mlp0', 'mlp1', 'mlp2']);
    expect(plan.batches).toHaveLength(6); // one row per batch without maxBatch
    expect(plan.batches[4]!.map((c) => [c.token, c.restoreLayers])).toEqual([2, 3, 4, 5].map((t) => [t, [0, 1]]));
  });

  it('packs cells across rows up to maxBatch sequences, never splitting a cell’s samples', () => {
    const plan = planTrace({ ...base, maxBatch: 10 }); // 2 cells of 4 samples per pass
    expect(plan.batches.map((b) => b.length)).toEqual(new Array(12).fill(2));
    expect(planTrace({ ...base, maxBatch: 3 }).batches.every((b) => b.length === 1)).toBe(true);
    expect(planTrace({ ...base, maxBatch: 1000 }).batches).toHaveLength(1);
  });

  it("traces the subject's last and the prompt's last token for 'key', or listed positions", () => {
    expect(planTrace({ ...base, positions: 'key' }).traced).toEqual([3, 5]);
    const listed = planTrace({ ...base, positions: [5, 0, 3, 3] });
    expect(listed.columns).toEqual([0, 3, 5]);
    expect(listed.traced).toEqual([3, 5]);
  });

  it('rejects a subject outside the prompt, an empty subject and positions out of range', () => {
    expect(() => planTrace({ ...base, subject: { start: 4, end: 7 } })).toThrow(/subject tokens \[4, 7\) outside the prompt's 6 tokens/);
    expect(() => planTrace({ ...base, subject: { start: 3, end: 3 } })).toThrow(/subject tokens/);
    expect(() => planTrace({ ...base, positions: [6] })).toThrow(/position 6 outside/);
    expect(() => planTrace({ ...base, kinds: ['mlp', 'mlp'] })).toThrow(/distinct/);
  });
});

describe('noise', () => {
  it('draws the same noise for the same seed, other noise for another, scaled by the level', () => {
    const opts = { seed: 3, samples: 10, subjectTokens: 4, hidden: 250, level: 0.5 };
    const a = traceNoise(opts);
    expect(a).toHaveLength(10 * 4 * 250);
    expect(traceNoise(opts)).toEqual(a);
    expect(traceNoise({ ...opts, seed: 4 })).not.toEqual(a);
    expect(noiseLevelFromEmbeddings(a, 1)).toBeCloseTo(0.5, 1);
    expect(traceNoise({ ...opts, level: 0 }).every((x) => x === 0)).toBe(true);
  });

  it("is ROME's multiplier x the unbiased std of every embedding value", () => {
    expect(noiseLevelFromEmbeddings([1, 2, 3, 4])).toBeCloseTo(3 * Math.sqrt(5 / 3), 12);
    expect(noiseLevelFromEmbeddings([1, 2, 3, 4], 1)).toBeCloseTo(Math.sqrt(5 / 3), 12);
    expect(() => noiseLevelFromEmbeddings([1])).toThrow(/at least 2 values/);
  });
});

/**
 * A runner whose probabilities are a known function of the rows: 0.1 + 0.01 x sample when nothing
 * is restored, plus a per-restoration bonus, so every effect has an exact expected value.
 */
class FakeRunner implements TraceRunner {
  readonly layers = 4;
  readonly hidden = 3;
  setup: RunnerSetup | null = null;
  batches: number[] = [];
  constructor(private readonly bonus: (kind: TraceKind, layers: readonly number[], token: number) => number) {}
  async clean(setup: RunnerSetup) {
    this.setup = setup;
    return 0.9;
  }
  async corrupted(rows: readonly CorruptedRow[]) {
    this.batches.push(rows.length);
    return Float32Array.from(rows, (row) => 0.1 + 0.01 * row.sample + row.restore.reduce((s, r) => s + r.tokens.reduce((u, t) => u + this.bonus(r.kind, r.layers, t), 0), 0));
  }
  dispose() {}
}

const INPUT: TraceInput = {
  prompt: 'a b c d e',
  subject: 'b c',
  target: ' f',
  tokens: ['a', ' b', ' c', ' d', ' e'],
  tokenIds: [1, 2, 3, 4, 5],
  subjectRange: { start: 1, end: 3 },
  targetToken: { id: 6, text: ' f' },
};
const SETTINGS: ResolvedTraceSettings = { kinds: ['hidden', 'mlp', 'attn'], samples: 2, noiseLevel: 0.3, window: 2, seed: 5, positions: 'all' };
const KIND_SCALE: Record<TraceKind, number> = { hidden: 1, mlp: 2, attn: 3 };
const bonus = (kind: TraceKind, layers: readonly number[], token: number) => 1e-3 * KIND_SCALE[kind] * (layers[layers.length - 1]! + 10 * token);

async function events(runner: TraceRunner, settings = SETTINGS, maxBatch?: number) {
  const out: TraceEvent[] = [];
  let pauses = 0;
  for await (const e of traceTokens(runner, INPUT, settings, { maxBatch, pause: async () => void pauses++ })) out.push(e);
  return { out, pauses };
}

describe('traceTokens', () => {
  it('streams clean, then rows as they complete, then the result; effects = p_restored - p_corrupted', async () => {
    const runner = new FakeRunner(bonus);
    const { out, pauses } = await events(runner, SETTINGS, 8);
    expect(out[0]).toMatchObject({ type: 'clean', rows: 12, setup: { pClean: 0.9, layers: 4, noiseLevel: 0.3, subjectRange: { start: 1, end: 3 } } });
    const rows = out.filter((e) => e.type === 'row');
    expect(rows.map((r) => `${r.kind}${r.layer}:${r.done}/${r.total}`)).toEqual(
      ['hidden', 'mlp', 'attn'].flatMap((k) => [0, 1, 2, 3].map((l) => `${k}${l}`)).map((name, i) => `${name}:${i + 1}/12`),
    );
    const done = out.at(-1)!;
    if (done.type !== 'done') throw new Error('no result');
    const { result } = done;
    expect(result.pCorrupted).toBeCloseTo(0.105, 6);
    expect(result.totalEffect).toBe(result.pClean - result.pCorrupted);
    for (const { kind, effects } of result.traces) {
      effects.forEach((row, layer) => {
        const top = restoreWindow(kind, layer, 4, 2).at(-1)!;
        expect(row[0]).toBe(0); // before the subject: not run
        for (const t of [1, 2, 3, 4]) expect(row[t]).toBeCloseTo(bonus(kind, [top], t), 6);
      });
    }
    // one pause after the clean event and one after each pass, so a server can flush the rows
    expect(pauses).toBe(runner.batches.length);
    expect(runner.batches).toEqual([2, ...new Array(12).fill(8)]); // corrupted baseline, then one row (4 cells x 2 samples) per pass
    expect(runner.setup!.noise).toEqual(traceNoise({ seed: 5, samples: 2, subjectTokens: 2, hidden: 3, level: 0.3 }));
  });

  it('suggests the MLP layer with the largest effect at the subject’s last token', async () => {
    const peak = (kind: TraceKind, layers: readonly number[], token: number) => (kind === 'mlp' && token === 2 && layers.includes(1) && !layers.includes(0) ? 0.5 : 0);
    const result = await collectTrace(traceTokens(new FakeRunner(peak), INPUT, { ...SETTINGS, window: 1 }));
    expect(result.suggestion).toMatchObject({ kind: 'mlp', layer: 1, token: 2 });
    expect(result.suggestion.effects.map((e) => Math.round(e * 1000) / 1000)).toEqual([0, 0.5, 0, 0]);
  });

  it("leaves untraced 'key' positions null and gives the same effects whatever the batching", async () => {
    const key = await collectTrace(traceTokens(new FakeRunner(bonus), INPUT, { ...SETTINGS, positions: 'key' }));
    for (const { effects } of key.traces) for (const row of effects) expect(row.map((e) => e === null)).toEqual([true, true, false, true, false]);
    const one = await collectTrace(traceTokens(new FakeRunner(bonus), INPUT, SETTINGS, { maxBatch: 1 }));
    const packed = await collectTrace(traceTokens(new FakeRunner(bonus), INPUT, SETTINGS, { maxBatch: 6 }));
    expect(packed.traces).toEqual(one.traces);
  });

  it("rejects listed positions without the subject's last token before running anything", async () => {
    const runner = new FakeRunner(bonus);
    await expect(collectTrace(traceTokens(runner, INPUT, { ...SETTINGS, positions: [1, 4] }))).rejects.toThrow(/must include the subject's last token \(2\)/);
    expect(runner.setup).toBeNull();
  });

  it('rejects a runner that returns the wrong number of probabilities', async () => {
    const runner = new FakeRunner(bonus);
    runner.corrupted = async (rows) => new Float32Array(rows.length === 2 ? 2 : 1);
    await expect(collectTrace(traceTokens(runner, INPUT, SETTINGS))).rejects.toThrow(/returned 1 probabilities for 96 rows/);
  });

  it('produces events and results that their schemas accept, through JSON', async () => {
    const { out } = await events(new FakeRunner(bonus), { ...SETTINGS, positions: 'key' });
    for (const event of out) expect(traceEventSchema.parse(JSON.parse(JSON.stringify(event)))).toEqual(event);
    const done = out.at(-1)!;
    if (done.type === 'done') expect(traceResultSchema.parse(done.result)).toEqual(done.result);
  });
});

describe('suggestLayer', () => {
  const trace = (kind: TraceKind, column: number[]) => ({ kind, effects: column.map((e) => [null, e]) });
  it('prefers mlp, then hidden, then attn; ties go to the earlier layer', () => {
    expect(suggestLayer([trace('hidden', [0.9, 0]), trace('mlp', [0.1, 0.3, 0.3])], 1).layer).toBe(1);
    expect(suggestLayer([trace('attn', [0.9, 0]), trace('hidden', [0.1, 0.2])], 1)).toMatchObject({ kind: 'hidden', layer: 1 });
    expect(() => suggestLayer([trace('mlp', [0.1])], 0)).toThrow(/token 0 not traced/);
  });
});

describe('traceRequestSchema', () => {
  it("fills ROME's defaults and rejects an empty target", () => {
    const request = traceRequestSchema.parse({ prompt: 'The Eiffel Tower is in', subject: 'Eiffel Tower', target: ' Paris' });
    expect(request).toMatchObject({ kinds: ['hidden', 'mlp', 'attn'], samples: 10, noiseMultiplier: 3, window: 10, seed: 1, positions: 'all' });
    expect(request.noiseLevel).toBeUndefined();
    expect(traceRequestSchema.safeParse({ prompt: 'x', subject: 'x', target: '' }).success).toBe(false);
    expect(traceRequestSchema.safeParse({ prompt: 'x', subject: 'x', target: ' y', kinds: ['resid'] }).success).toBe(false);
  });
});
