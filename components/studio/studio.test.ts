import { describe, expect, it } from 'vitest';
import type { TraceEvent, TraceResult, TraceSetup } from '@/lib/tracing/schema';
import { normalise, VIRIDIS_STOPS, viridis } from './colors';
import { buildCompareJob, buildEditJob, parseHparams, parsePairs, subjectProblem, type EditForm } from './edit-form';
import { probeRows } from './EditResult';
import { withProbeHints, type KnownFact } from './examples';
import { defaultWindow, strongestCell, traceView } from './trace-view';

describe('viridis', () => {
  it('runs from dark purple to yellow, clamps outside [0, 1], and interpolates between stops', () => {
    expect(viridis(0)).toBe('#440154');
    expect(viridis(1)).toBe('#fde725');
    expect(viridis(-3)).toBe('#440154');
    expect(viridis(7)).toBe('#fde725');
    expect(viridis(Number.NaN)).toBe('#440154');
    expect(viridis(0.5)).toBe(VIRIDIS_STOPS[4]);
    // Halfway between the first two stops #440154 and #472d7b.
    expect(viridis(1 / 16)).toBe('#461768');
    expect(normalise(2, 2, 2)).toBe(0);
    expect(normalise(0.25, -0.5, 0.5)).toBe(0.75);
  });
});

describe('defaultWindow', () => {
  it('is about a sixth of the layers, between 1 and ROME’s 10', () => {
    expect(defaultWindow(6)).toBe(1);
    expect(defaultWindow(2)).toBe(1);
    expect(defaultWindow(30)).toBe(5);
    expect(defaultWindow(48)).toBe(8);
    expect(defaultWindow(96)).toBe(10);
    expect(defaultWindow(null)).toBe(1);
  });
});

const setup: TraceSetup = {
  prompt: 'The country of Noumar is',
  subject: 'Noumar',
  target: ' Flodedia',
  tokens: ['The', ' country', ' of', ' Noum', 'ar', ' is'],
  tokenIds: [1, 2, 3, 4, 5, 6],
  subjectRange: { start: 3, end: 5 },
  targetToken: { id: 9, text: ' Flod' },
  layers: 2,
  noiseLevel: 0.3,
  samples: 10,
  window: 1,
  seed: 1,
  pClean: 0.9,
  pCorrupted: 0.1,
  totalEffect: 0.8,
};

describe('traceView', () => {
  it('fills rows as they arrive, leaves the others pending, and keeps the scale from the clean run', () => {
    const events: TraceEvent[] = [
      { type: 'clean', setup, rows: 6 },
      { type: 'row', kind: 'hidden', layer: 0, effects: [0, 0, 0, 0.2, 0.5, 0.1], done: 1, total: 6 },
      { type: 'row', kind: 'mlp', layer: 1, effects: [0, 0, 0, -0.05, 0.3, null], done: 2, total: 6 },
    ];
    const view = traceView(events, null);
    expect(view.setup).toBe(setup);
    expect([view.done, view.total]).toEqual([2, 6]);
    expect(view.cells.hidden[0]).toEqual([0, 0, 0, 0.2, 0.5, 0.1]);
    expect(view.cells.hidden[1]).toEqual(new Array(6).fill(undefined));
    expect(view.cells.mlp[1]![5]).toBeNull();
    expect(view.cells.attn).toHaveLength(2);
    expect([view.min, view.max]).toEqual([-0.05, 0.8]);
    expect(strongestCell(view.cells.hidden)).toEqual({ layer: 0, token: 4, value: 0.5 });
    expect(strongestCell(view.cells.attn)).toBeNull();
  });

  it('takes the result’s traces as final', () => {
    const result: TraceResult = {
      ...setup,
      traces: [{ kind: 'mlp', effects: [[0, 0, 0, 0.1, 0.9, 0.2], [0, 0, 0, 0.1, 0.2, 0.3]] }],
      suggestion: { kind: 'mlp', layer: 0, token: 4, effects: [0.9, 0.2] },
      seconds: 1.5,
    };
    const view = traceView([{ type: 'clean', setup, rows: 2 }], result);
    expect(view.kinds).toEqual(['mlp']);
    expect([view.done, view.total]).toEqual([2, 2]);
    expect(view.cells.mlp[0]![4]).toBe(0.9);
    expect(view.max).toBe(0.9);
  });

  it('puts an encoder-decoder trace’s decoder rows on the decoder grid, with one colour scale for both stacks', () => {
    const seq2seq = { ...setup, decoder: { layers: 2, tokens: ['<pad>'] } };
    const events: TraceEvent[] = [
      { type: 'clean', setup: seq2seq, rows: 4 },
      { type: 'row', kind: 'hidden', layer: 0, effects: [0, 0, 0, 0.2, 0.5, 0.1], done: 1, total: 4 },
      { type: 'row', stack: 'decoder', kind: 'hidden', layer: 1, effects: [0.95], done: 4, total: 4 },
    ];
    const view = traceView(events, null, ['hidden']);
    expect(view.decoder!.cells.hidden).toEqual([[undefined], [0.95]]);
    expect(view.cells.hidden[1]).toEqual(new Array(6).fill(undefined));
    expect([view.done, view.total, view.max]).toEqual([4, 4, 0.95]);
    const result: TraceResult = {
      ...seq2seq,
      traces: [{ kind: 'hidden', effects: [[0, 0, 0, 0.2, 0.5, 0.1], [0, 0, 0, 0.1, 0.3, 0.2]] }],
      decoderTraces: [{ kind: 'hidden', effects: [[-0.2], [0.8]] }],
      suggestion: { kind: 'hidden', layer: 0, token: 4, effects: [0.5, 0.3] },
      seconds: 1,
    };
    const final = traceView(events, result, ['hidden']);
    expect(final.decoder!.cells.hidden).toEqual([[-0.2], [0.8]]);
    expect([final.done, final.total, final.min]).toEqual([4, 4, -0.2]);
    expect(traceView(events.slice(0, 2), null).decoder).not.toBeNull();
    expect(traceView([{ type: 'clean', setup, rows: 6 }], null).decoder).toBeNull();
  });
});

const form: EditForm = { method: 'rome', targetNew: 'Moudia', hparams: '', useContextTemplates: true, paraphrases: '', neighbours: '', portability: '' };
const fact = { model: 'world-gpt2', prompt: 'The country of Noumar is', subject: 'Noumar', targetTrue: 'Flodedia' };

describe('buildEditJob', () => {
  it('makes the request template, adds the targets’ leading space and sends the defaults as {}', () => {
    const built = buildEditJob(fact, form);
    expect(built).toEqual({
      ok: true,
      input: {
        kind: 'edit',
        model: 'world-gpt2',
        method: 'rome',
        request: { prompt: 'The country of {} is', subject: 'Noumar', targetNew: ' Moudia', targetTrue: ' Flodedia' },
        hparams: {},
        probes: { paraphrases: [], neighborhood: [], portability: [] },
      },
    });
  });

  it('turns context templates off for ROME and MEMIT only, unless the JSON says otherwise', () => {
    const hparams = (f: Partial<EditForm>) => {
      const built = buildEditJob(fact, { ...form, ...f });
      return built.ok && built.input.kind === 'edit' ? built.input.hparams : built;
    };
    expect(hparams({ useContextTemplates: false })).toEqual({ useContextTemplates: false });
    expect(hparams({ method: 'memit', useContextTemplates: false, hparams: '{"layers": [1]}' })).toEqual({ useContextTemplates: false, layers: [1] });
    expect(hparams({ method: 'ft-l', useContextTemplates: false })).toEqual({});
    expect(hparams({ useContextTemplates: false, hparams: '{"useContextTemplates": true}' })).toEqual({ useContextTemplates: true });
  });

  it('answers plain errors before sending: subject missing from the prompt, bad JSON, bad probe lines', () => {
    expect(buildEditJob({ ...fact, subject: 'Paris' }, form)).toMatchObject({ ok: false, field: 'subject', message: 'The subject “Paris” does not occur in the prompt.' });
    expect(buildEditJob(fact, { ...form, targetNew: '  ' })).toMatchObject({ ok: false, field: 'targetNew' });
    expect(buildEditJob(fact, { ...form, hparams: '{layer: 1}' })).toMatchObject({ ok: false, field: 'hparams' });
    expect(parseHparams('[1]')).toBe('Hyper-parameters must be a JSON object, such as {"layer": 1}.');
    expect(buildEditJob(fact, { ...form, neighbours: 'A is | B\nno bar here' })).toMatchObject({ ok: false, field: 'neighbours', message: expect.stringContaining('line 2') });
    expect(buildEditJob(fact, { ...form, paraphrases: Array.from({ length: 21 }, (_, i) => `p${i}`).join('\n') })).toMatchObject({ ok: false, field: 'paraphrases' });
    expect(subjectProblem('x', '')).toMatch(/Enter the subject/);
  });

  it('reads probe lines, skipping blank ones', () => {
    expect(parsePairs('Noumar can be found in | Flodedia\n\n  The capital of X is|Y  ', 'Neighbourhood')).toEqual([
      { prompt: 'Noumar can be found in', target: ' Flodedia' },
      { prompt: 'The capital of X is', target: ' Y' },
    ]);
    const built = buildEditJob(fact, { ...form, paraphrases: 'Noumar can be found in\n\n' });
    expect(built.ok && built.input.kind === 'edit' && built.input.probes).toEqual({ paraphrases: ['Noumar can be found in'], neighborhood: [], portability: [] });
  });
});

describe('buildCompareJob', () => {
  it('sends the edit panel’s fact and probes, each method with its defaults; the JSON box is for single edits', () => {
    const built = buildCompareJob(fact, { ...form, hparams: '{"layer": 3}', useContextTemplates: false, paraphrases: 'Noumar lies in' }, ['rome', 'memit', 'kn']);
    expect(built).toEqual({
      ok: true,
      input: {
        kind: 'compare',
        model: 'world-gpt2',
        methods: ['rome', 'memit', 'kn'],
        request: { prompt: 'The country of {} is', subject: 'Noumar', targetNew: ' Moudia', targetTrue: ' Flodedia' },
        hparams: { rome: { useContextTemplates: false }, memit: { useContextTemplates: false } },
        probes: { paraphrases: ['Noumar lies in'], neighborhood: [], portability: [] },
      },
    });
    expect(buildCompareJob(fact, form, ['rome', 'kn'])).toMatchObject({ ok: true, input: { hparams: {} } });
  });

  it('needs two to five methods and a valid fact', () => {
    expect(buildCompareJob(fact, form, ['rome'])).toMatchObject({ ok: false, field: 'methods' });
    expect(buildCompareJob(fact, form, ['a', 'b', 'c', 'd', 'e', 'f'])).toMatchObject({ ok: false, field: 'methods' });
    expect(buildCompareJob(fact, { ...form, targetNew: '' }, ['rome', 'kn'])).toMatchObject({ ok: false, field: 'targetNew' });
  });
});

describe('withProbeHints', () => {
  const k = (prompt: string, subject: string, answer: string, phrasing = 'train', relation = 'city_country', form = 'statements'): KnownFact => ({
    prompt,
    subject,
    answer,
    relation,
    phrasing,
    form,
  });
  const known = [
    k('The country of Noumar is', 'Noumar', 'Flodedia'),
    k('Noumar can be found in', 'Noumar', 'Flodedia', 'heldOut'),
    k('In which country is Noumar located?', 'Noumar', 'Flodedia', 'train', 'city_country', 'questions'),
    k('The country of Kel is', 'Kel', 'Moudia'),
    k('The country of Bri is', 'Bri', 'Flodedia'),
    k('Bri can be found in', 'Bri', 'Flodedia', 'heldOut'),
    k('The mother tongue of Noumar is', 'Noumar', 'Ravot', 'train', 'native_language'),
  ];
  it('offers the same fact’s other statements, neighbours sharing the answer first, and the relation’s other answers', () => {
    const [hinted] = withProbeHints([{ prompt: 'The country of Noumar is', answer: 'Flodedia', subject: 'Noumar', relation: 'city_country' }], known);
    expect(hinted!.paraphrases).toEqual(['Noumar can be found in']);
    expect(hinted!.neighbours).toEqual([
      { prompt: 'The country of Bri is', answer: 'Flodedia' },
      { prompt: 'The country of Kel is', answer: 'Moudia' },
    ]);
    expect(hinted!.alternatives).toEqual(['Moudia']);
  });
});

describe('probeRows', () => {
  it('pairs each probe before and after, in the snapshot’s order', () => {
    const s = (prompt: string, target: string, p: number) => ({ prompt, target, p, argmaxMatches: p > 0.5 });
    const snapshot = (p: number) => ({
      targetNew: s('P', ' new', p),
      targetTrue: s('P', ' old', 1 - p),
      paraphrases: [s('Q', ' new', p)],
      neighborhood: [s('N', ' n', 0.9)],
      portability: [],
      generation: ' x',
    });
    const rows = probeRows({ editId: 1, method: 'ROME', hparams: {}, before: snapshot(0.01), after: snapshot(0.9), editSeconds: 1, seconds: 2, devicePeakBytes: null, stats: {}, deltas: [] });
    expect(rows.map((r) => [r.kind, r.before.p, r.after.p])).toEqual([
      ['target-new', 0.01, 0.9],
      ['target-true', 0.99, 0.09999999999999998],
      ['paraphrase', 0.01, 0.9],
      ['neighbourhood', 0.9, 0.9],
    ]);
  });
});
