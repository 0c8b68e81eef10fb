import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  counterFactFlatRecordSchema,
  counterFactRecordSchema,
  detectEditingFormat,
  knowEditAnswers,
  knowEditRecordSchema,
  parseEditingDataset,
  zsreRecordSchema,
} from './index';
import type { EditingFormat } from './index';

/** The real samples live beside the project root (../shared/data/editing); CI without them skips. */
const SAMPLES = fileURLToPath(new URL('../../../shared/data/editing/', import.meta.url));
const haveSamples = existsSync(SAMPLES);

const REAL_FILES: [string, EditingFormat][] = [
  ['counterfact-portability.sample.json', 'counterfact'],
  ['counterfact-subject-replace.sample.json', 'counterfact'],
  ['counterfact-easyedit.sample.json', 'counterfact-flat'],
  ['zsre-portability.sample.json', 'zsre'],
  ['zsre-inverse-relation.sample.json', 'zsre'],
  ['zsre-mend-train.sample.json', 'zsre'],
  ['knowedit-zsre.sample.json', 'knowedit'],
  ['knowedit-wiki-counterfact.sample.json', 'knowedit'],
];

function readSample(name: string): unknown {
  return JSON.parse(readFileSync(SAMPLES + name, 'utf8'));
}

describe.skipIf(!haveSamples)('the real sample files', () => {
  it.each(REAL_FILES)('%s parses as %s, keeping every field', (file, format) => {
    const json = readSample(file);
    const parsed = parseEditingDataset(json);
    expect(parsed.format).toBe(format);
    expect(parsed.records.length).toBe((json as unknown[]).length);
    // No field of the real files is unknown to the schemas (they would be dropped).
    expect(parsed.records).toEqual(json);
  });

  it('keeps the extension keys of the portability files', () => {
    const cf = parseEditingDataset(readSample('counterfact-portability.sample.json'));
    expect(cf.format === 'counterfact' && cf.records[0]?.portability?.['New Answer']).toBe('Cheesesteaks');
    const inverse = parseEditingDataset(readSample('zsre-inverse-relation.sample.json'));
    expect(inverse.format === 'zsre' && typeof inverse.records[0]?.['inverse question']).toBe('string');
  });
});

describe('editing dataset schemas', () => {
  const rome = {
    case_id: 0,
    pararel_idx: 1,
    requested_rewrite: {
      prompt: '{} was born in',
      relation_id: 'P19',
      target_new: { str: 'Paris', id: 'Q90' },
      target_true: { str: 'London', id: 'Q84' },
      subject: 'Ana Bel',
    },
    paraphrase_prompts: ['Ana Bel is native to'],
    neighborhood_prompts: ['Bo Cal was born in'],
    attribute_prompts: ['Cy Dun was born in'],
    generation_prompts: ['Ana Bel lives in'],
  };

  it('rejects a CounterFact rewrite prompt without the subject slot', () => {
    expect(counterFactRecordSchema.safeParse(rome).success).toBe(true);
    const bad = { ...rome, requested_rewrite: { ...rome.requested_rewrite, prompt: 'Ana Bel was born in' } };
    expect(counterFactRecordSchema.safeParse(bad).success).toBe(false);
  });

  it('rejects records missing a required field', () => {
    const { neighborhood_prompts: _unused, ...noNeighbours } = rome;
    void _unused;
    expect(counterFactRecordSchema.safeParse(noNeighbours).success).toBe(false);
    expect(counterFactFlatRecordSchema.safeParse({ case_id: 0, prompt: 'x' }).success).toBe(false);
  });

  it('requires zsRE loc and loc_ans together', () => {
    const base = { subject: 's', src: 'q?', pred: 'a', rephrase: 'q2?', alt: 'b', answers: ['a'], cond: 'a >> b || q?' };
    expect(zsreRecordSchema.safeParse(base).success).toBe(true);
    expect(zsreRecordSchema.safeParse({ ...base, loc: 'nq question: x', loc_ans: 'y' }).success).toBe(true);
    expect(zsreRecordSchema.safeParse({ ...base, loc: 'nq question: x' }).success).toBe(false);
  });

  it('accepts the three KnowEdit ground-truth shapes and lists their answers', () => {
    const record = (g: unknown) => ({
      subject: 's',
      prompt: 'p',
      target_new: 't',
      portability: { Reasoning: [{ prompt: 'q', ground_truth: g }] },
      locality: {},
    });
    for (const g of ['a', ['a'], [['a', 'alias']], [[]]]) expect(knowEditRecordSchema.safeParse(record(g)).success).toBe(true);
    expect(knowEditRecordSchema.safeParse(record(3)).success).toBe(false);
    expect(knowEditAnswers([['a', 'alias'], ['b']])).toEqual(['a', 'alias', 'b']);
    expect(knowEditAnswers('a')).toEqual(['a']);
  });

  it('detects each format from one record', () => {
    expect(detectEditingFormat(rome)).toBe('counterfact');
    expect(detectEditingFormat({ text: 't', labels: 'l', concept: 'c', locality: {} })).toBe('knowedit-wikibio');
    expect(detectEditingFormat({ foo: 1 })).toBeUndefined();
    expect(() => parseEditingDataset([{ foo: 1 }])).toThrow(/unknown format/);
  });
});
