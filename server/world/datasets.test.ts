import { describe, expect, it } from 'vitest';
import {
  counterFactFlatFileSchema,
  counterFactFileSchema,
  detectEditingFormat,
  knowEditFileSchema,
  parseEditingDataset,
  zsreFileSchema,
} from '../../lib/datasets';
import { buildDatasets, jsonLinesArray } from './datasets';
import { generateWorld } from './graph';
import { sampleNeighborhoodPrompts } from './prompts';
import type { RelationId } from './schema';
import { COMPOSITIONS, RELATIONS } from './schema';
import { COMPOSITION_PHRASINGS, RELATION_PHRASINGS, SUBJECT_SLOT } from './templates';
import type { Entity } from './world';

const world = generateWorld(1);
const datasets = buildDatasets(world);
const { test, train } = datasets.requests;
const files = datasets.files;

/** The subject of a prompt written with one of `templates`, if it names a world entity. */
function subjectOf(prompt: string, templates: readonly string[]): Entity | undefined {
  for (const t of templates) {
    const [before, after] = t.split(SUBJECT_SLOT) as [string, string];
    if (prompt.startsWith(before) && prompt.endsWith(after) && prompt.length > before.length + after.length) {
      const e = world.findByName(prompt.slice(before.length, prompt.length - after.length));
      if (e) return e;
    }
  }
  return undefined;
}

function objectOfPrompt(prompt: string, relation: RelationId): string | undefined {
  const subject = subjectOf(prompt, RELATION_PHRASINGS[relation].statements.train);
  return subject && world.object(subject.id, relation);
}

describe('edit requests', () => {
  it('fill both splits, over every editable relation, with disjoint subjects', () => {
    expect(test).toHaveLength(1000);
    expect(train).toHaveLength(2000);
    expect(new Set(test.map((r) => r.relation)).size).toBe(7);
    const testSubjects = new Set(test.map((r) => r.subject.id));
    expect(train.some((r) => testSubjects.has(r.subject.id))).toBe(false);
    const ids = [...test, ...train].map((r) => r.caseId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('rewrite to an object of the right type that differs from the truth and that others have', () => {
    for (const r of [...test, ...train]) {
      expect(world.object(r.subject.id, r.relation)).toBe(r.trueObject.id);
      expect(r.newObject.type).toBe(RELATIONS[r.relation].object);
      expect(r.newObject.id).not.toBe(r.trueObject.id);
      expect(world.subjects(r.relation, r.newObject.id).filter((s) => s !== r.subject.id).length).toBeGreaterThan(0);
    }
  });

  it('compute portability answers as the second hop of the new object, and they change', () => {
    for (const r of [...test, ...train]) {
      expect(r.portability.length).toBeGreaterThan(0);
      for (const p of r.portability) {
        const { first, second } = COMPOSITIONS[p.composition];
        expect(first).toBe(r.relation);
        expect(p.answer.id).toBe(world.object(r.newObject.id, second));
        expect(p.oldAnswer.id).toBe(world.answer(r.subject.id, p.composition));
        expect(p.answer.id).not.toBe(p.oldAnswer.id);
        if (r.split === 'test') {
          expect(p.trained).toBe(false);
          expect(world.compositionSplit(r.subject.id, p.composition)).toBe('heldOut');
        }
      }
    }
  });
});

describe('CounterFact records', () => {
  const records = files['counterfact-test.json'];

  it('carry the request, with target ids and a "{}" prompt in a train phrasing', () => {
    records.forEach((rec, i) => {
      const r = test[i]!;
      const rw = rec.requested_rewrite;
      expect(rw.subject).toBe(r.subject.name);
      expect(RELATION_PHRASINGS[r.relation].statements.train).toContain(rw.prompt);
      expect(rw.target_new).toEqual({ str: r.newObject.name, id: r.newObject.id });
      expect(rw.target_true).toEqual({ str: r.trueObject.name, id: r.trueObject.id });
      expect(rec.case_id).toBe(r.caseId);
    });
  });

  it('use held-out phrasings after a true prefix sentence for paraphrases', () => {
    records.forEach((rec, i) => {
      const r = test[i]!;
      expect(rec.paraphrase_prompts).toHaveLength(2);
      for (const p of rec.paraphrase_prompts) {
        const ends = RELATION_PHRASINGS[r.relation].statements.heldOut.some((t) =>
          p.endsWith(t.replace(SUBJECT_SLOT, r.subject.name)),
        );
        expect(ends, p).toBe(true);
      }
    });
  });

  it('ask neighbours that share the true object and attributes that have the new one', () => {
    records.forEach((rec, i) => {
      const r = test[i]!;
      expect(rec.neighborhood_prompts).toHaveLength(10);
      expect(rec.attribute_prompts).toHaveLength(10);
      for (const p of rec.neighborhood_prompts) expect(objectOfPrompt(p, r.relation), p).toBe(r.trueObject.id);
      for (const p of rec.attribute_prompts) expect(objectOfPrompt(p, r.relation), p).toBe(r.newObject.id);
      for (const p of [...rec.neighborhood_prompts, ...rec.attribute_prompts]) {
        expect(p.includes(r.subject.name)).toBe(false);
      }
    });
  });

  it('ask a portability question whose answer follows from the edit', () => {
    records.forEach((rec, i) => {
      const r = test[i]!;
      const p = r.portability[0]!;
      expect(rec.portability?.['New Answer']).toBe(p.answer.name);
      const question = rec.portability?.['New Question'] ?? '';
      expect(subjectOf(question, COMPOSITION_PHRASINGS[p.composition].questions.train)?.id).toBe(r.subject.id);
      expect(rec.portability?.['Recalled Relation']).toBe(
        `(${r.newObject.name}, ${RELATIONS[COMPOSITIONS[p.composition].second].label}, ${p.answer.name})`,
      );
    });
  });
});

describe('neighbourhood sampling', () => {
  it('is stable for a seed and independent across seeds', () => {
    const r = test[0]!;
    expect(sampleNeighborhoodPrompts(world, r, 7)).toEqual(sampleNeighborhoodPrompts(world, r, 7));
    const differ = test.filter(
      (q) => JSON.stringify(sampleNeighborhoodPrompts(world, q, 1)) !== JSON.stringify(sampleNeighborhoodPrompts(world, q, 2)),
    ).length;
    expect(differ / test.length).toBeGreaterThan(0.9);
    for (const q of test.slice(0, 100)) {
      for (const p of sampleNeighborhoodPrompts(world, q, 3)) expect(objectOfPrompt(p, q.relation)).toBe(q.trueObject.id);
    }
  });
});

describe('zsRE and KnowEdit records', () => {
  it('write zsRE with cond = "pred >> alt || src", held-out rephrases and portability in the test split', () => {
    files['zsre-test.json'].forEach((rec, i) => {
      const r = test[i]!;
      expect(rec.alt).toBe(r.newObject.name);
      expect(rec.answers).toEqual([r.trueObject.name]);
      expect(rec.cond).toBe(`${rec.pred} >> ${rec.alt} || ${rec.src}`);
      expect(subjectOf(rec.src, RELATION_PHRASINGS[r.relation].questions.train)?.id).toBe(r.subject.id);
      expect(subjectOf(rec.rephrase, RELATION_PHRASINGS[r.relation].questions.heldOut)?.id).toBe(r.subject.id);
      expect(rec.loc?.startsWith('nq question: ')).toBe(true);
      expect(rec.portability?.['New Answer']).toBe(r.portability[0]?.answer.name);
    });
    for (const rec of files['zsre-train.json']) expect(rec.portability).toBeUndefined();
  });

  it('write KnowEdit Reasoning for every held-out composition and specificity on other relations', () => {
    files['knowedit-test.json'].forEach((rec, i) => {
      const r = test[i]!;
      expect(rec.portability.Reasoning?.map((p) => p.ground_truth)).toEqual(r.portability.map((p) => [[p.answer.name]]));
      for (const loc of rec.locality.Relation_Specificity ?? []) {
        const relation = world.relationsOf(r.subject.id).find((rel) => subjectOf(loc.prompt, RELATION_PHRASINGS[rel].statements.train));
        expect(relation).toBeDefined();
        expect(relation).not.toBe(r.relation);
        expect(loc.ground_truth).toEqual([[world.entity(world.object(r.subject.id, relation!) as string).name]]);
      }
    });
    for (const rec of files['knowedit-train.json']) {
      for (const p of rec.portability.Reasoning ?? []) expect(typeof p.ground_truth).toBe('string');
    }
  });
});

describe('dataset files', () => {
  const expected = {
    'counterfact-test.json': [counterFactFileSchema, 'counterfact'],
    'counterfact-edit-test.json': [counterFactFlatFileSchema, 'counterfact-flat'],
    'counterfact-edit-train.json': [counterFactFlatFileSchema, 'counterfact-flat'],
    'zsre-test.json': [zsreFileSchema, 'zsre'],
    'zsre-train.json': [zsreFileSchema, 'zsre'],
    'knowedit-test.json': [knowEditFileSchema, 'knowedit'],
    'knowedit-train.json': [knowEditFileSchema, 'knowedit'],
  } as const;

  it.each(Object.entries(expected))('%s conforms exactly to its format and stays under 2 MB', (name, [schema, format]) => {
    const text = jsonLinesArray(files[name as keyof typeof files]);
    expect(Buffer.byteLength(text)).toBeLessThan(2 * 1024 * 1024);
    const json: unknown = JSON.parse(text);
    // Schemas drop unknown keys: equality proves the records have no stray field.
    expect(schema.parse(json)).toEqual(json);
    expect(detectEditingFormat((json as unknown[])[0])).toBe(format);
    expect(parseEditingDataset(json).format).toBe(format);
  });

  it('are identical when built again from the same seed', () => {
    const again = buildDatasets(generateWorld(1)).files;
    for (const name of Object.keys(files) as (keyof typeof files)[]) {
      expect(jsonLinesArray(again[name]), name).toBe(jsonLinesArray(files[name]));
    }
  });
});
