/**
 * Edit requests drawn from the world: a true fact (s, r, o) and a counterfactual object o* of the
 * same type, with the one-hop consequences of the rewrite (portability). Every dataset format
 * renders the same requests, so CounterFact, zsRE and KnowEdit files describe the same edits.
 *
 * Choices, and why:
 * - Test and train requests use disjoint subjects (a third of persons, companies and cities are
 *   test subjects), so a method trained on the train split never saw a test subject's edit.
 * - A test request's portability questions use only compositions HELD OUT for its subject: the
 *   model never read that two-hop fact, so answering it after the edit needs the edited fact.
 * - o* is an object other subjects really have (attribute prompts exist) and changes the answer of
 *   every portability question (e.g. a new birth city in another country).
 * - The subject has at least one neighbour: another subject with the same relation and object.
 * - Capitals are not moved to another country (it would break "the capital lies in its country"
 *   for the unedited world's other facts in a way no question checks).
 */
import { Rng } from './rng';
import type { CompositionId, RelationId } from './schema';
import { COMPOSITIONS, EDITABLE_RELATIONS, RELATIONS, compositionsFrom } from './schema';
import type { Entity, World } from './world';

export type EditSplit = 'train' | 'test';

export interface PortabilityFact {
  composition: CompositionId;
  /** The answer after the edit: second hop applied to the new object. */
  answer: Entity;
  /** The answer before the edit. */
  oldAnswer: Entity;
  /** Whether the corpus states this two-hop fact for the subject (with the old answer). */
  trained: boolean;
}

export interface EditRequest {
  caseId: number;
  split: EditSplit;
  relation: RelationId;
  subject: Entity;
  trueObject: Entity;
  newObject: Entity;
  /** Non-empty; the first is the one the single-question formats (CounterFact, zsRE) use. */
  portability: PortabilityFact[];
}

export interface EditSelection {
  /** Seed of the sampling (not of the world): which subjects, which counterfactuals. */
  seed: number;
  testCount: number;
  trainCount: number;
  /** Share of each subject type reserved for test requests. */
  testSubjectShare: number;
}

export const DEFAULT_EDIT_SELECTION: Omit<EditSelection, 'seed'> = {
  testCount: 1000,
  trainCount: 2000,
  testSubjectShare: 1 / 3,
};

const EDITABLE_SUBJECT_TYPES = [...new Set(EDITABLE_RELATIONS.map((r) => RELATIONS[r].subject))];

/** Which subjects belong to the test split (the rest belong to train). */
export function testSubjects(world: World, seed: number, share: number): Set<string> {
  const rng = Rng.derive(seed, 'edit-subjects');
  const out = new Set<string>();
  for (const type of EDITABLE_SUBJECT_TYPES) {
    const ids = rng.shuffle(world.entitiesOf(type).map((e) => e.id));
    for (const id of ids.slice(0, Math.round(ids.length * share))) out.add(id);
  }
  return out;
}

export function selectEditRequests(
  world: World,
  options: Partial<EditSelection> = {},
): { test: EditRequest[]; train: EditRequest[] } {
  const opts: EditSelection = { seed: world.seed, ...DEFAULT_EDIT_SELECTION, ...options };
  const inTest = testSubjects(world, opts.seed, opts.testSubjectShare);
  const test = selectSplit(world, 'test', (id) => inTest.has(id), opts.testCount, Rng.derive(opts.seed, 'edits:test'));
  const train = selectSplit(
    world,
    'train',
    (id) => !inTest.has(id),
    opts.trainCount,
    Rng.derive(opts.seed, 'edits:train'),
  ).map((r) => ({ ...r, caseId: r.caseId + test.length }));
  return { test, train };
}

/** Requests balanced across relations: round-robin over relations until `count` or exhaustion. */
function selectSplit(
  world: World,
  split: EditSplit,
  inSplit: (id: string) => boolean,
  count: number,
  rng: Rng,
): EditRequest[] {
  const queues = EDITABLE_RELATIONS.map((relation) =>
    rng.shuffle(world.facts(relation).filter(([subject]) => inSplit(subject))).map(([s]) => ({ relation, s })),
  );
  const out: EditRequest[] = [];
  let progressed = true;
  while (out.length < count && progressed) {
    progressed = false;
    for (const queue of queues) {
      while (out.length < count && queue.length > 0) {
        const { relation, s } = queue.shift() as { relation: RelationId; s: string };
        const request = buildRequest(world, split, relation, s, out.length, rng);
        if (request) {
          out.push(request);
          progressed = true;
          break;
        }
      }
    }
  }
  return out;
}

function buildRequest(
  world: World,
  split: EditSplit,
  relation: RelationId,
  subjectId: string,
  caseId: number,
  rng: Rng,
): EditRequest | undefined {
  const trueId = world.object(subjectId, relation);
  if (trueId === undefined) return undefined;
  if (relation === 'city_country' && world.object(trueId, 'capital') === subjectId) return undefined;
  if (world.subjects(relation, trueId).length < 2) return undefined; // no neighbour
  const compositions = compositionsFrom(relation)
    .map((c) => c.id)
    .filter((c) => {
      const s = world.compositionSplit(subjectId, c);
      return s !== undefined && (split === 'train' || s === 'heldOut');
    });
  if (compositions.length === 0) return undefined;

  const objectType = RELATIONS[relation].object;
  const candidates = world.entitiesOf(objectType).filter((o) => {
    if (o.id === trueId) return false;
    if (world.subjects(relation, o.id).filter((s) => s !== subjectId).length === 0) return false;
    return compositions.every((c) => {
      const after = world.object(o.id, COMPOSITIONS[c].second);
      return after !== undefined && after !== world.answer(subjectId, c);
    });
  });
  if (candidates.length === 0) return undefined;
  const newObject = rng.pick(candidates);
  const portability = rng.shuffle(compositions).map((c) => ({
    composition: c,
    answer: world.entity(world.object(newObject.id, COMPOSITIONS[c].second) as string),
    oldAnswer: world.entity(world.answer(subjectId, c) as string),
    trained: world.compositionSplit(subjectId, c) === 'train',
  }));
  return {
    caseId,
    split,
    relation,
    subject: world.entity(subjectId),
    trueObject: world.entity(trueId),
    newObject,
    portability,
  };
}
