import { describe, expect, it } from 'vitest';
import { buildCorpus } from './corpus';
import { generateWorld } from './graph';
import type { EntityType } from './schema';
import { COMPOSITIONS, COMPOSITION_IDS, RELATIONS, RELATION_IDS } from './schema';
import {
  COMPOSITION_PHRASINGS,
  RELATION_PHRASINGS,
  SUBJECT_SLOT,
  allPhrasingSets,
  sentence,
  sentencePattern,
} from './templates';

const all = allPhrasingSets();
const trainTemplates = all.flatMap(({ set }) => [...set.statements.train, ...set.questions.train]);
const heldOutTemplates = all.flatMap(({ set }) => [...set.statements.heldOut, ...set.questions.heldOut]);

describe('phrasings', () => {
  it('cover every relation and composition with train and held-out statements and questions', () => {
    for (const id of RELATION_IDS) {
      const p = RELATION_PHRASINGS[id];
      expect(p.statements.train.length).toBeGreaterThanOrEqual(4);
      expect(p.statements.heldOut.length).toBeGreaterThanOrEqual(2);
      expect(p.questions.train.length).toBeGreaterThanOrEqual(2);
      expect(p.questions.heldOut.length).toBeGreaterThanOrEqual(2);
    }
    for (const id of COMPOSITION_IDS) {
      const p = COMPOSITION_PHRASINGS[id];
      expect(p.statements.train.length).toBeGreaterThanOrEqual(2);
      expect(p.statements.heldOut.length).toBeGreaterThanOrEqual(1);
      expect(p.questions.train.length).toBeGreaterThanOrEqual(1);
      expect(p.questions.heldOut.length).toBeGreaterThanOrEqual(1);
    }
  });

  it('hold the subject slot exactly once and end right before the object', () => {
    for (const t of [...trainTemplates, ...heldOutTemplates]) {
      expect(t.split(SUBJECT_SLOT).length, t).toBe(2);
      expect(t, t).toBe(t.trim());
      expect(t.endsWith('.'), t).toBe(false);
    }
    for (const { set } of all) {
      for (const t of [...set.questions.train, ...set.questions.heldOut]) expect(t.endsWith('?'), t).toBe(true);
    }
  });

  it('keep held-out phrasings disjoint from train phrasings, across all relations', () => {
    const train = new Set(trainTemplates);
    for (const t of heldOutTemplates) expect(train.has(t), t).toBe(false);
    expect(new Set(heldOutTemplates).size).toBe(heldOutTemplates.length);
  });

  it('never let a train phrasing extend another train phrasing for the same subject type', () => {
    // "{} was born in" + " the country of ..." would make the first answer token ambiguous.
    const byType: { type: EntityType; t: string }[] = [
      ...RELATION_IDS.flatMap((r) =>
        [...RELATION_PHRASINGS[r].statements.train, ...RELATION_PHRASINGS[r].questions.train].map((t) => ({
          type: RELATIONS[r].subject,
          t,
        })),
      ),
      ...COMPOSITION_IDS.flatMap((c) =>
        [...COMPOSITION_PHRASINGS[c].statements.train, ...COMPOSITION_PHRASINGS[c].questions.train].map((t) => ({
          type: RELATIONS[COMPOSITIONS[c].first].subject,
          t,
        })),
      ),
    ];
    const clashes = byType.flatMap((a) =>
      byType.filter((b) => a.type === b.type && b.t.startsWith(`${a.t} `)).map((b) => `${a.t} < ${b.t}`),
    );
    expect(clashes).toEqual([]);
  });

  it('match a sentence only of their own shape', () => {
    const pattern = sentencePattern('{} was born in the city of');
    expect(pattern.test(sentence('{} was born in the city of', 'Ana Bel', 'Tavira'))).toBe(true);
    expect(pattern.test(sentence('{} was born in', 'Ana Bel', 'Tavira'))).toBe(false);
  });
});

describe('the corpus and held-out phrasings', () => {
  it('never contains a sentence written in a held-out phrasing', () => {
    const corpus = buildCorpus(generateWorld(1));
    const patterns = heldOutTemplates.map((t) => ({ t, re: sentencePattern(t) }));
    // Paragraph lines join statements with ". "; questions keep their answer in the same sentence.
    const sentences = corpus.lines.flatMap((line) => line.split(/(?<=\.) /));
    const offending: string[] = [];
    for (const s of sentences) {
      for (const { t, re } of patterns) if (re.test(s)) offending.push(`${t} :: ${s}`);
    }
    expect(offending.slice(0, 5)).toEqual([]);
  });
});
