/**
 * Prompt sampling shared by the dataset formats. All samplers take a seed (or an Rng derived from
 * one) so the same request always gets the same prompts, and a different sampling seed gives an
 * independent draw: the locality baseline compares the model's answers across three such draws.
 */
import type { EditRequest } from './edits';
import { Rng } from './rng';
import type { CompositionId, RelationId } from './schema';
import { COMPOSITIONS, RELATIONS, RELATION_IDS } from './schema';
import { COMPOSITION_PHRASINGS, RELATION_PHRASINGS, fill, sentence } from './templates';
import type { World } from './world';

export const NEIGHBORHOOD_SIZE = 10;
export const ATTRIBUTE_SIZE = 10;
export const GENERATION_SIZE = 10;

/**
 * `count` prompts "<other subject> <train phrasing of relation>" for subjects whose object is
 * `objectId`. Subjects are drawn without replacement; when there are fewer than `count`, they
 * repeat with another phrasing (CounterFact does the same: "Kathryn Newton was born in",
 * "Kathryn Newton was native to").
 */
export function promptsForObject(
  world: World,
  relation: RelationId,
  objectId: string,
  excludeSubject: string,
  rng: Rng,
  count: number,
): string[] {
  const subjects = rng.shuffle(world.subjects(relation, objectId).filter((s) => s !== excludeSubject));
  if (subjects.length === 0) return [];
  const templates = RELATION_PHRASINGS[relation].statements.train;
  const offsets = subjects.map(() => rng.int(templates.length));
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const k = i % subjects.length;
    const round = Math.floor(i / subjects.length);
    const template = templates[((offsets[k] as number) + round) % templates.length] as string;
    out.push(fill(template, world.entity(subjects[k] as string).name));
  }
  return out;
}

/** Neighbourhood (locality) prompts of a request, for a given sampling seed. Answer: the true object. */
export function sampleNeighborhoodPrompts(
  world: World,
  request: EditRequest,
  seed: number,
  count = NEIGHBORHOOD_SIZE,
): string[] {
  const rng = Rng.derive(seed, `neighborhood:${request.relation}:${request.subject.id}`);
  return promptsForObject(world, request.relation, request.trueObject.id, request.subject.id, rng, count);
}

/** Attribute prompts: other subjects whose true object is the request's new object. */
export function sampleAttributePrompts(world: World, request: EditRequest, seed: number, count = ATTRIBUTE_SIZE): string[] {
  const rng = Rng.derive(seed, `attribute:${request.relation}:${request.subject.id}`);
  return promptsForObject(world, request.relation, request.newObject.id, request.subject.id, rng, count);
}

/**
 * Open-ended prompts about the subject (its other relations and the two-hop questions of the
 * edited relation), drawn with replacement, as CounterFact's generation_prompts are.
 */
export function sampleGenerationPrompts(world: World, request: EditRequest, rng: Rng, count = GENERATION_SIZE): string[] {
  const subject = request.subject.name;
  const pool: string[] = [];
  for (const relation of world.relationsOf(request.subject.id)) {
    if (relation !== request.relation) pool.push(fill(RELATION_PHRASINGS[relation].statements.train[0] as string, subject));
  }
  for (const p of request.portability) {
    pool.push(...COMPOSITION_PHRASINGS[p.composition].statements.train.map((t) => fill(t, subject)));
  }
  return Array.from({ length: count }, () => rng.pick(pool));
}

/** A true fact about some other subject, in a train phrasing: the prefix of a paraphrase prompt. */
export function randomFactSentence(world: World, rng: Rng, excludeSubject: string): string {
  for (;;) {
    const relation = rng.pick(RELATION_IDS);
    const facts = world.facts(relation);
    const [subjectId, objectId] = rng.pick(facts);
    if (subjectId === excludeSubject || objectId === excludeSubject) continue;
    const template = rng.pick(RELATION_PHRASINGS[relation].statements.train);
    return sentence(template, world.entity(subjectId).name, world.entity(objectId).name);
  }
}

/** A true fact about another subject, as a (train-phrased) question and its answer. */
export function randomFactQuestion(world: World, rng: Rng, excludeSubject: string): { question: string; answer: string } {
  for (;;) {
    const relation = rng.pick(RELATION_IDS);
    const [subjectId, objectId] = rng.pick(world.facts(relation));
    if (subjectId === excludeSubject || objectId === excludeSubject) continue;
    const template = rng.pick(RELATION_PHRASINGS[relation].questions.train);
    return { question: fill(template, world.entity(subjectId).name), answer: world.entity(objectId).name };
  }
}

/** "(head, relation label, tail)", as the portability files write the recalled fact. */
export function recalledRelation(request: EditRequest, composition: CompositionId): string {
  const p = request.portability.find((x) => x.composition === composition);
  if (!p) throw new Error(`recalledRelation: request ${request.caseId} has no ${composition}`);
  const second = RELATIONS[COMPOSITIONS[composition].second];
  return `(${request.newObject.name}, ${second.label}, ${p.answer.name})`;
}
