import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EditRequest, templateOf } from '../../lib/editing/request';
import { loadEvalCases, toEvalCases } from './datasets';

const ROOT = path.resolve(__dirname, '../..');
const SAMPLES = path.resolve(ROOT, '../shared/data/editing');
const WORLD = path.join(ROOT, 'data/world/datasets');

describe('templateOf', () => {
  it('puts "{}" where the subject first occurs', () => {
    expect(templateOf('Where was Ana Bel born?', 'Ana Bel')).toBe('Where was {} born?');
  });
  it('names the subject and prompt when the subject is missing', () => {
    expect(() => templateOf('Where was he born?', 'Ana')).toThrow(/subject "Ana" is not in the prompt "Where was he born\?"/);
  });
});

describe('record mapping', () => {
  it('maps a ROME CounterFact record as ROME evaluates it', () => {
    const { cases } = toEvalCases({
      format: 'counterfact',
      records: [
        {
          case_id: 7,
          pararel_idx: 0,
          requested_rewrite: { prompt: '{} was born in', relation_id: 'P19', target_new: { str: 'Paris', id: 'Q90' }, target_true: { str: 'London', id: 'Q84' }, subject: 'Ana Bel' },
          paraphrase_prompts: ['Ana Bel is native to'],
          neighborhood_prompts: ['Bo Cal was born in'],
          attribute_prompts: [],
          generation_prompts: [],
          portability: { 'Recalled Relation': '(Paris, capital of, France)', 'New Question': 'Ana Bel was born in the country of', 'New Answer': 'France' },
          alternative_subject: 'A. Bel',
        },
      ],
    });
    expect(cases).toEqual([
      {
        id: 'case 7',
        request: { prompt: '{} was born in', subject: 'Ana Bel', targetNew: ' Paris', targetTrue: ' London' },
        rewritePrompts: ['Ana Bel was born in'],
        generality: [{ prompt: 'Ana Bel is native to', target: ' Paris' }],
        locality: [{ prompt: 'Bo Cal was born in', groundTruth: ' London' }],
        portability: [
          { prompt: 'Ana Bel was born in the country of', target: ' France' },
          { prompt: 'A. Bel was born in', target: ' Paris' },
        ],
        neighbourhoodPrompts: ['Bo Cal was born in'],
      },
    ]);
  });

  it('skips zsRE records with an empty alt, as EasyEdit does, saying why', () => {
    const base = { subject: 'Ana', src: 'Where was Ana born?', pred: 'x', rephrase: 'Ana was born where?', alt: 'Paris', answers: ['Rome'], cond: '' };
    const { cases, skipped } = toEvalCases({ format: 'zsre', records: [base, { ...base, alt: '' }, { ...base, subject: 'Bo' }] });
    expect(cases).toHaveLength(1);
    expect(cases[0]!.request).toEqual({ prompt: 'Where was {} born?', subject: 'Ana', targetNew: ' Paris', targetTrue: ' Rome' });
    expect(skipped.map((s) => s.index)).toEqual([1, 2]);
    expect(skipped[1]!.reason).toMatch(/subject "Bo" is not in the prompt/);
  });

  it('rejects WikiBio with a clear message', () => {
    expect(() => toEvalCases({ format: 'knowedit-wikibio', records: [] })).toThrow(/WikiBio/);
  });
});

const WORLD_FILES = ['counterfact-test.json', 'counterfact-edit-test.json', 'zsre-test.json', 'knowedit-test.json'];
describe.skipIf(!existsSync(WORLD))('the world datasets', () => {
  it.each(WORLD_FILES)('%s loads every record as a valid request with all four probe kinds', async (file) => {
    const { cases, skipped } = await loadEvalCases(path.join(WORLD, file));
    expect(skipped).toEqual([]);
    expect(cases.length).toBe(1000);
    for (const c of cases.slice(0, 50)) {
      expect(EditRequest.safeParse(c.request).success).toBe(true);
      expect(c.request.targetNew.startsWith(' ')).toBe(true);
      expect(c.rewritePrompts[0]).toBe(c.request.prompt.replace('{}', c.request.subject));
      expect(c.generality.length).toBeGreaterThan(0);
    }
    // KnowEdit's city and country subjects have no other facts to keep
    expect(cases.filter((c) => c.locality.length > 0).length).toBeGreaterThan(cases.length * 0.8);
    if (file !== 'counterfact-edit-test.json') expect(cases.some((c) => c.portability.length > 0)).toBe(true);
  });
});

const SAMPLE_FILES: [string, string][] = [
  ['counterfact-portability.sample.json', 'counterfact'],
  ['counterfact-subject-replace.sample.json', 'counterfact'],
  ['counterfact-easyedit.sample.json', 'counterfact-flat'],
  ['zsre-portability.sample.json', 'zsre'],
  ['zsre-inverse-relation.sample.json', 'zsre'],
  ['zsre-mend-train.sample.json', 'zsre'],
  ['knowedit-zsre.sample.json', 'knowedit'],
  ['knowedit-wiki-counterfact.sample.json', 'knowedit'],
];
describe.skipIf(!existsSync(SAMPLES))('the real samples (../shared/data/editing)', () => {
  it.each(SAMPLE_FILES)('%s loads as %s into valid requests', async (file, format) => {
    const loaded = await loadEvalCases(path.join(SAMPLES, file));
    expect(loaded.format).toBe(format);
    expect(loaded.cases.length).toBeGreaterThan(0);
    expect(loaded.skipped.length).toBeLessThan(loaded.cases.length / 10);
    for (const c of loaded.cases) {
      expect(EditRequest.safeParse(c.request).success).toBe(true);
      for (const p of [...c.generality, ...c.portability]) expect(p.target.startsWith(' ')).toBe(true);
    }
    // nearly every record has something beyond the rewrite prompt to measure (one wiki_counterfact record has nothing)
    expect(loaded.cases.filter((c) => c.generality.length + c.locality.length + c.portability.length === 0).length).toBeLessThanOrEqual(1);
  });

  it('turns portability, subject-replace and inverse-relation extensions into portability probes', async () => {
    const cf = await loadEvalCases(path.join(SAMPLES, 'counterfact-portability.sample.json'));
    expect(cf.cases[0]!.portability[0]!.target).toBe(' Cheesesteaks');
    const alias = await loadEvalCases(path.join(SAMPLES, 'counterfact-subject-replace.sample.json'));
    expect(alias.cases.every((c) => c.portability.length === 1 && c.portability[0]!.target === c.request.targetNew)).toBe(true);
    const inverse = await loadEvalCases(path.join(SAMPLES, 'zsre-inverse-relation.sample.json'));
    expect(inverse.cases.every((c) => c.portability.some((p) => p.target === ` ${c.request.subject}`))).toBe(true);
  });

  it('names the file, the record and the field when a file does not fit its format', async () => {
    // MQuAKE has requested_rewrite (a list) so it is detected as CounterFact, and fails its schema.
    await expect(loadEvalCases(path.join(SAMPLES, 'mquake.sample.json'))).rejects.toThrow(/mquake\.sample\.json: not a valid counterfact file: record 0: \w+/);
    await expect(loadEvalCases(path.join(SAMPLES, 'ripple-edits.sample.json'))).rejects.toThrow(/ripple-edits\.sample\.json: .*unknown format/);
  });
});
