import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DecisionRequest } from '../../lib/api/review';
import { counterFactFileSchema, zsreFileSchema } from '../../lib/datasets';
import { agreement, cohensKappa } from './agreement';
import { parsePortabilityFile, ReviewImportError } from './parse';
import { listSources, readSource } from './sources';
import { ReviewStore, reviewDbPath } from './store';

const SAMPLES = fileURLToPath(new URL('../../../shared/data/editing/', import.meta.url));
const haveSamples = existsSync(path.join(SAMPLES, 'counterfact-portability.sample.json'));
const sample = (name: string): unknown => JSON.parse(readFileSync(path.join(SAMPLES, name), 'utf8'));

/** Two hand-written CounterFact records in the real layout, so the store tests run without the samples. */
function counterFactRecord(caseId: number, subject: string, question: string, answer: string) {
  return {
    case_id: caseId,
    pararel_idx: caseId + 1000,
    requested_rewrite: {
      prompt: '{} originates from',
      relation_id: 'P19',
      target_new: { str: 'Philadelphia', id: 'Q935334' },
      target_true: { str: 'London', id: 'Q84' },
      subject,
    },
    paraphrase_prompts: [],
    neighborhood_prompts: [],
    attribute_prompts: [],
    generation_prompts: [],
    portability: { 'Recalled Relation': '(Philadelphia, known for, cheesesteaks)', 'New Question': question, 'New Answer': answer },
    an_unknown_key: { kept: true },
  };
}
const FILE = [
  counterFactRecord(1, 'Spike Hughes', 'What food is associated with the city Spike Hughes originates from?', 'Cheesesteaks'),
  counterFactRecord(2, 'Ann Smith', 'Which river flows through the city Ann Smith originates from?', 'Delaware'),
  counterFactRecord(3, 'Bo Li', 'Which state is the city Bo Li originates from in?', 'Pennsylvania'),
];

/** A clock that ticks one second per call, so "first reviewer" and "latest edit" are well defined. */
function clock() {
  let t = Date.parse('2025-01-01T00:00:00Z');
  return () => new Date((t += 1000));
}

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'locus-review-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('parsePortabilityFile', () => {
  it('makes one item per portability question, with the original fact and the edit', () => {
    const parsed = parsePortabilityFile(FILE);
    expect(parsed.format).toBe('counterfact');
    expect(parsed.items).toHaveLength(3);
    expect(parsed.items[0]).toEqual({
      recordIndex: 0,
      subject: 'Spike Hughes',
      prompt: 'Spike Hughes originates from',
      trueAnswer: 'London',
      newTarget: 'Philadelphia',
      recalledRelation: '(Philadelphia, known for, cheesesteaks)',
      question: 'What food is associated with the city Spike Hughes originates from?',
      answer: 'Cheesesteaks',
    });
  });

  it('names the record and field at fault in a malformed file', () => {
    const bad = structuredClone(FILE) as unknown[];
    (bad[1] as { requested_rewrite: { prompt: string } }).requested_rewrite.prompt = 'no placeholder';
    expect(() => parsePortabilityFile(bad)).toThrow(ReviewImportError);
    expect(() => parsePortabilityFile(bad)).toThrow('Record 1 is not a valid CounterFact record: requested_rewrite.prompt: prompt must contain "{}" for the subject');
    expect(() => parsePortabilityFile({ records: [] })).toThrow('The file is not a JSON list of records');
    expect(() => parsePortabilityFile([])).toThrow('The file has no records');
    expect(() => parsePortabilityFile([{ hello: 1 }])).toThrow('Record 0 is neither a CounterFact record');
    expect(() => parsePortabilityFile([{ ...FILE[0], portability: undefined }])).toThrow('No record has a portability question');
  });

  describe.skipIf(!haveSamples)('the real samples (../shared/data/editing)', () => {
    it('reads counterfact-portability.sample.json: 200 items', () => {
      const parsed = parsePortabilityFile(sample('counterfact-portability.sample.json'));
      expect(parsed.format).toBe('counterfact');
      expect(parsed.items).toHaveLength(200);
      expect(parsed.items[0]).toMatchObject({
        subject: 'Spike Hughes',
        prompt: 'Spike Hughes originates from',
        trueAnswer: 'London',
        newTarget: 'Philadelphia',
        recalledRelation: '(Philadelphia, known for, cheesesteaks)',
        question: 'What famous food is associated with the city where Spike Hughes originates from?',
        answer: 'Cheesesteaks',
      });
    });

    it('reads zsre-portability.sample.json: 200 items, true answer answers[0], edit target alt', () => {
      const parsed = parsePortabilityFile(sample('zsre-portability.sample.json'));
      expect(parsed.format).toBe('zsre');
      expect(parsed.items).toHaveLength(200);
      expect(parsed.items[0]).toMatchObject({
        subject: 'IAAF Combined Events Challenge',
        prompt: 'When was the inception of IAAF Combined Events Challenge?',
        trueAnswer: '1998',
        newTarget: '2006',
        recalledRelation: '(IAAF Combined Events Challenge, event type, athletics)',
        answer: 'Athletics',
      });
    });

    it('refuses a KnowEdit file with a plain reason', () => {
      expect(() => parsePortabilityFile(sample('knowedit-zsre.sample.json'))).toThrow(/This is a KnowEdit file; portability review reads/);
    });

    it('lists and reads the two portability sources, and only those', async () => {
      expect(listSources(SAMPLES).map((s) => s.name)).toEqual(['counterfact-portability.sample.json', 'zsre-portability.sample.json']);
      expect(await readSource('zsre-portability.sample.json', SAMPLES)).toHaveLength(200);
      await expect(readSource('../../etc/passwd', SAMPLES)).rejects.toThrow('Unknown source');
    });
  });
});

describe('cohensKappa', () => {
  it('matches a hand-computed example', () => {
    // 10 items: both accept 4, a accepts / b rejects 1, a rejects / b accepts 2, both reject 3.
    // p_o = 7/10; a: 5 accept, 5 reject; b: 6 accept, 4 reject; p_e = .5*.6 + .5*.4 = .5;
    // kappa = (.7 - .5) / (1 - .5) = .4.
    const pairs = [
      ...Array(4).fill(['accept', 'accept']),
      ['accept', 'reject'],
      ...Array(2).fill(['reject', 'accept']),
      ...Array(3).fill(['reject', 'reject']),
    ] as ['accept' | 'reject', 'accept' | 'reject'][];
    const k = cohensKappa(pairs);
    expect(k.items).toBe(10);
    expect(k.observed).toBeCloseTo(0.7, 12);
    expect(k.expected).toBeCloseTo(0.5, 12);
    expect(k.value).toBeCloseTo(0.4, 12);
  });

  it('is 1 for perfect agreement over several decisions, and undefined when both always give one decision', () => {
    expect(cohensKappa([['accept', 'accept'], ['flag', 'flag'], ['reject', 'reject']]).value).toBeCloseTo(1, 12);
    expect(cohensKappa([['accept', 'accept'], ['accept', 'accept']]).value).toBeNull();
    expect(cohensKappa([]).value).toBeNull();
  });

  it('counts items where every one of three reviewers agrees', () => {
    const result = agreement(
      ['ann', 'bob', 'cy'],
      [
        { item: 0, reviewer: 'ann', decision: 'accept' },
        { item: 0, reviewer: 'bob', decision: 'accept' },
        { item: 0, reviewer: 'cy', decision: 'accept' },
        { item: 1, reviewer: 'ann', decision: 'accept' },
        { item: 1, reviewer: 'cy', decision: 'flag' },
        { item: 2, reviewer: 'bob', decision: 'reject' },
      ],
    );
    expect(result.sharedItems).toBe(2);
    expect(result.allAgree).toBe(0.5);
    // ann and bob share only item 0, both accept: kappa undefined.
    expect(result.kappa).toMatchObject({ a: 'ann', b: 'bob', items: 1, observed: 1, value: null });
  });
});

describe('ReviewStore', () => {
  it('keeps imports, decisions and checks across closing and reopening the file', () => {
    const file = reviewDbPath(tempDir());
    let store = new ReviewStore(file, clock());
    const imp = store.createImport('cf.json', parsePortabilityFile(FILE));
    expect(imp).toMatchObject({ name: 'cf.json', format: 'counterfact', records: 3, items: 3 });
    store.decide(imp.id, 0, { reviewer: 'ann', decision: 'accept' });
    store.decide(imp.id, 1, { reviewer: 'ann', decision: 'flag', note: 'ambiguous city' });
    store.saveCheck(imp.id, 0, { model: 'world-gpt2', knows: false, rank: null, answerToken: ' London', top: [], at: '2025-01-01T00:00:00.000Z' });
    store.close();

    store = new ReviewStore(file, clock());
    expect(store.listImports().map((i) => i.id)).toEqual([imp.id]);
    expect(store.progress(imp.id, 'ann')).toEqual({ total: 3, reviewed: 2, reviewedByAnyone: 2, checked: 1 });
    expect(store.reviews(imp.id, 1)).toEqual([expect.objectContaining({ reviewer: 'ann', decision: 'flag', note: 'ambiguous city' })]);
    expect(store.latestCheck(imp.id, 0)).toMatchObject({ knows: false, answerToken: ' London' });
    expect(store.nextItem(imp.id, 'ann')?.index).toBe(2);
    store.close();
  });

  it('serves each reviewer the items they have not decided, skipping past the current one and wrapping around', () => {
    const store = new ReviewStore(':memory:', clock());
    const { id } = store.createImport('cf.json', parsePortabilityFile(FILE));
    expect(store.nextItem(id, 'ann')?.index).toBe(0);
    expect(store.nextItem(id, 'ann', 0)?.index).toBe(1);
    expect(store.nextItem(id, 'ann', 2)?.index).toBe(0);
    store.decide(id, 0, { reviewer: 'ann', decision: 'reject' });
    expect(store.nextItem(id, 'ann')?.index).toBe(1);
    expect(store.nextItem(id, 'bob')?.index).toBe(0);
    // Deciding again replaces the decision.
    store.decide(id, 0, { reviewer: 'ann', decision: 'accept' });
    expect(store.reviews(id, 0)).toHaveLength(1);
    expect(store.reviews(id, 0)[0]!.decision).toBe('accept');
    store.decide(id, 1, { reviewer: 'ann', decision: 'accept' });
    store.decide(id, 2, { reviewer: 'ann', decision: 'accept' });
    expect(store.nextItem(id, 'ann')).toBeUndefined();
    expect(() => store.item(id, 9)).toThrow('The import has no item 9');
    expect(() => store.nextItem('nope', 'ann')).toThrow(/No import "nope"/);
  });

  it('computes agreement and kappa for the first two reviewers from stored decisions', () => {
    const store = new ReviewStore(':memory:', clock());
    const { id } = store.createImport('cf.json', parsePortabilityFile(FILE));
    store.decide(id, 0, { reviewer: 'ann', decision: 'accept' });
    store.decide(id, 0, { reviewer: 'bob', decision: 'accept' });
    store.decide(id, 1, { reviewer: 'ann', decision: 'reject' });
    store.decide(id, 1, { reviewer: 'bob', decision: 'reject' });
    store.decide(id, 2, { reviewer: 'ann', decision: 'accept' });
    store.decide(id, 2, { reviewer: 'bob', decision: 'reject' });
    store.decide(id, 2, { reviewer: 'cy', decision: 'reject' });
    const result = store.agreement(id);
    expect(result.reviewers).toEqual(['ann', 'bob', 'cy']);
    expect(result.sharedItems).toBe(3);
    expect(result.allAgree).toBeCloseTo(2 / 3, 12);
    // p_o = 2/3; ann: 2 accept, 1 reject; bob: 1 accept, 2 reject; p_e = 2/9 + 2/9 = 4/9;
    // kappa = (2/3 - 4/9) / (5/9) = 2/5.
    expect(result.kappa).toMatchObject({ a: 'ann', b: 'bob', items: 3 });
    expect(result.kappa!.value).toBeCloseTo(0.4, 12);
  });

  it('exports exactly the accepted items, with edits applied, in the imported format (round trip)', () => {
    const store = new ReviewStore(':memory:', clock());
    const { id } = store.createImport('cf.json', parsePortabilityFile(FILE));
    store.decide(id, 0, { reviewer: 'ann', decision: 'accept' });
    store.decide(id, 1, { reviewer: 'ann', decision: 'accept', question: 'Which river runs through the city Ann Smith comes from?' });
    store.decide(id, 2, { reviewer: 'ann', decision: 'reject' });
    const { records } = store.exportRecords(id, 'accepted');
    const reparsed = counterFactFileSchema.parse(records);
    expect(reparsed.map((r) => r.case_id)).toEqual([1, 2]);
    expect(reparsed[0]!.portability).toEqual(FILE[0]!.portability);
    expect(reparsed[1]!.portability).toEqual({ ...FILE[1]!.portability, 'New Question': 'Which river runs through the city Ann Smith comes from?' });
    // Everything else of the record is as imported, unknown keys included.
    expect({ ...(records[1] as object), portability: FILE[1]!.portability }).toEqual(FILE[1]);
    expect(parsePortabilityFile(records).items.map((i) => i.question)).toEqual([FILE[0]!.portability['New Question'], 'Which river runs through the city Ann Smith comes from?']);

    // A second reviewer's reject keeps an item out.
    store.decide(id, 0, { reviewer: 'bob', decision: 'reject' });
    expect(counterFactFileSchema.parse(store.exportRecords(id).records).map((r) => r.case_id)).toEqual([2]);
  });

  it.skipIf(!haveSamples)('round-trips the real zsRE sample', () => {
    const store = new ReviewStore(':memory:', clock());
    const { id } = store.createImport('zsre-portability.sample.json', parsePortabilityFile(sample('zsre-portability.sample.json')));
    store.decide(id, 3, { reviewer: 'ann', decision: 'accept', answer: 'Edited answer' });
    store.decide(id, 7, { reviewer: 'ann', decision: 'accept' });
    const records = zsreFileSchema.parse(store.exportRecords(id).records);
    const original = zsreFileSchema.parse(sample('zsre-portability.sample.json'));
    expect(records).toEqual([{ ...original[3]!, portability: { ...original[3]!.portability!, 'New Answer': 'Edited answer' } }, original[7]!]);
  });
});

describe('DecisionRequest', () => {
  it('asks for a note on a flag and an edit only on an accept', () => {
    const base = { import: 'x', item: 0, reviewer: 'ann' };
    expect(DecisionRequest.safeParse({ ...base, decision: 'flag' }).error?.issues[0]?.message).toBe('Say why you flag it (a note)');
    expect(DecisionRequest.safeParse({ ...base, decision: 'reject', question: 'q?' }).success).toBe(false);
    expect(DecisionRequest.safeParse({ ...base, decision: 'accept', question: 'q?' }).success).toBe(true);
    expect(DecisionRequest.safeParse({ ...base, reviewer: '  ', decision: 'accept' }).error?.issues[0]?.message).toBe('Enter your name as reviewer');
  });
});
