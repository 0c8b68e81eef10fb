import { describe, expect, it } from 'vitest';
import { buildCorpus, corpusText } from './corpus';
import { generateWorld } from './graph';
import { COMPOSITION_IDS, RELATION_IDS } from './schema';
import { COMPOSITION_PHRASINGS, RELATION_PHRASINGS, sentence } from './templates';

const world = generateWorld(1);
const corpus = buildCorpus(world);
const lines = new Set(corpus.lines);

describe('buildCorpus', () => {
  it('is deterministic', () => {
    expect(corpusText(buildCorpus(generateWorld(1)))).toBe(corpusText(corpus));
  });

  it('states every fact in every train statement and question phrasing', () => {
    for (const r of RELATION_IDS) {
      const { statements, questions } = RELATION_PHRASINGS[r];
      for (const [s, o] of world.facts(r)) {
        for (const t of [...statements.train, ...questions.train]) {
          const line = sentence(t, world.entity(s).name, world.entity(o).name);
          if (!lines.has(line)) throw new Error(`missing: ${line}`);
        }
      }
    }
  });

  it('states trained two-hop facts and never held-out ones', () => {
    let trained = 0;
    for (const c of COMPOSITION_IDS) {
      const { statements, questions } = COMPOSITION_PHRASINGS[c];
      const templates = [...statements.train, ...questions.train, ...statements.heldOut, ...questions.heldOut];
      for (const [s, split] of Object.entries(world.data.compositionSplit[c])) {
        const subject = world.entity(s).name;
        const answer = world.entity(world.answer(s, c) as string).name;
        const present = templates.map((t) => lines.has(sentence(t, subject, answer)));
        if (split === 'train') {
          trained++;
          expect(present.slice(0, statements.train.length + questions.train.length).every(Boolean)).toBe(true);
        } else {
          expect(present.some(Boolean), `${c} for ${subject}`).toBe(false);
        }
      }
    }
    expect(corpus.stats.twoHopFactsTrained).toBe(trained);
    expect(corpus.stats.linesByKind.twoHop).toBeGreaterThan(trained);
  });

  it('stays small enough to commit and short enough for a 64-token context', () => {
    expect(corpus.stats.bytes).toBeLessThan(15 * 1024 * 1024);
    expect(corpus.stats.longestLineWords).toBeLessThanOrEqual(40);
    expect(corpus.lines.every((l) => !l.includes('\n') && l.length > 0)).toBe(true);
  });
});
