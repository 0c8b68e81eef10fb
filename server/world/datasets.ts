/**
 * The world's editing datasets, in the real formats of ../shared/data/editing (SCHEMAS.md):
 * CounterFact (ROME record + one-hop `portability`, and EasyEdit's flat record), zsRE (MEND record,
 * + `portability` in the test split) and KnowEdit (wiki_counterfact-style records). The record types
 * come from the zod schemas in lib/datasets, which the tests also run over these files.
 *
 * Phrasings: edit prompts use TRAIN phrasings (the model knows the fact in them); rephrasings use
 * HELD-OUT phrasings (generality is measured on wording never trained); portability questions use
 * TRAIN phrasings of a composition the corpus never states for that subject.
 */
import type { CounterFactFlatRecord, CounterFactRecord } from '../../lib/datasets/counterfact';
import type { KnowEditGroundTruth, KnowEditPrompt, KnowEditRecord } from '../../lib/datasets/knowedit';
import type { ZsreRecord } from '../../lib/datasets/zsre';
import type { EditRequest, EditSelection } from './edits';
import { selectEditRequests } from './edits';
import {
  randomFactQuestion,
  randomFactSentence,
  recalledRelation,
  sampleAttributePrompts,
  sampleGenerationPrompts,
  sampleNeighborhoodPrompts,
} from './prompts';
import { Rng } from './rng';
import { RELATION_IDS } from './schema';
import { COMPOSITION_PHRASINGS, RELATION_PHRASINGS, fill } from './templates';
import type { World } from './world';

export const PARAPHRASE_COUNT = 2;
/** KnowEdit records carry at most this many Relation_Specificity prompts. */
export const LOCALITY_COUNT = 4;

/** A stable index per fact (relation order, then generation order): our `pararel_idx`. */
export function factIndex(world: World): (relation: EditRequest['relation'], subjectId: string) => number {
  const index = new Map<string, number>();
  let i = 0;
  for (const relation of RELATION_IDS) for (const [s] of world.facts(relation)) index.set(`${relation}:${s}`, i++);
  return (relation, subjectId) => {
    const v = index.get(`${relation}:${subjectId}`);
    if (v === undefined) throw new Error(`factIndex: no fact ${relation} for ${subjectId}`);
    return v;
  };
}

function recordRng(seed: number, format: string, request: EditRequest): Rng {
  return Rng.derive(seed, `${format}:${request.caseId}`);
}

/** CounterFact, ROME/MEMIT record with the one-hop portability extension. */
export function toCounterFact(world: World, request: EditRequest, seed: number, pararelIdx: number): CounterFactRecord {
  const rng = recordRng(seed, 'counterfact', request);
  const { statements } = RELATION_PHRASINGS[request.relation];
  const subject = request.subject.name;
  const paraphrases = rng
    .sample(statements.heldOut, PARAPHRASE_COUNT)
    .map((t) => `${randomFactSentence(world, rng, request.subject.id)} ${fill(t, subject)}`);
  const portability = request.portability[0];
  if (!portability) throw new Error(`toCounterFact: request ${request.caseId} has no portability`);
  return {
    case_id: request.caseId,
    pararel_idx: pararelIdx,
    requested_rewrite: {
      prompt: rng.pick(statements.train),
      relation_id: request.relation,
      target_new: { str: request.newObject.name, id: request.newObject.id },
      target_true: { str: request.trueObject.name, id: request.trueObject.id },
      subject,
    },
    paraphrase_prompts: paraphrases,
    neighborhood_prompts: sampleNeighborhoodPrompts(world, request, seed),
    attribute_prompts: sampleAttributePrompts(world, request, seed),
    generation_prompts: sampleGenerationPrompts(world, request, rng),
    portability: {
      'Recalled Relation': recalledRelation(request, portability.composition),
      'New Question': fill(rng.pick(COMPOSITION_PHRASINGS[portability.composition].questions.train), subject),
      'New Answer': portability.answer.name,
    },
  };
}

/** CounterFact, EasyEdit's flat record (counterfact-edit.json / counterfact-train.json). */
export function toCounterFactFlat(world: World, request: EditRequest, seed: number): CounterFactFlatRecord {
  const rng = recordRng(seed, 'counterfact-flat', request);
  const { statements } = RELATION_PHRASINGS[request.relation];
  const subject = request.subject.name;
  const [localityPrompt] = sampleNeighborhoodPrompts(world, request, seed, 1);
  if (localityPrompt === undefined) throw new Error(`toCounterFactFlat: request ${request.caseId} has no neighbour`);
  return {
    case_id: request.caseId,
    prompt: fill(rng.pick(statements.train), subject),
    target_new: request.newObject.name,
    subject,
    ground_truth: request.trueObject.name,
    rephrase_prompt: fill(rng.pick(statements.heldOut), subject),
    locality_prompt: localityPrompt,
    locality_ground_truth: request.trueObject.name,
  };
}

/**
 * zsRE, MEND record. `pred` should be the original MEND base model's prediction; the world has no
 * such model, so it is the true answer (what a model that knows the world predicts).
 */
export function toZsre(world: World, request: EditRequest, seed: number, withPortability: boolean): ZsreRecord {
  const rng = recordRng(seed, 'zsre', request);
  const { questions } = RELATION_PHRASINGS[request.relation];
  const subject = request.subject.name;
  const src = fill(rng.pick(questions.train), subject);
  const pred = request.trueObject.name;
  const alt = request.newObject.name;
  const loc = randomFactQuestion(world, rng, request.subject.id);
  const record: ZsreRecord = {
    subject,
    src,
    pred,
    rephrase: fill(rng.pick(questions.heldOut), subject),
    alt,
    answers: [request.trueObject.name],
    loc: `nq question: ${loc.question}`,
    loc_ans: loc.answer,
    cond: `${pred} >> ${alt} || ${src}`,
  };
  const portability = request.portability[0];
  if (withPortability && portability) {
    record.portability = {
      'Recalled Relation': recalledRelation(request, portability.composition),
      'New Question': fill(rng.pick(COMPOSITION_PHRASINGS[portability.composition].questions.train), subject),
      'New Answer': portability.answer.name,
    };
  }
  return record;
}

/**
 * KnowEdit record in the wiki_counterfact layout, plus `rephrase_prompt` (a key of KnowEdit's
 * ZsRE records) for generality. Ground truths: 'nested' = [[answer]] as in wiki_counterfact test,
 * 'string' = answer as in wiki_counterfact train.
 */
export function toKnowEdit(
  world: World,
  request: EditRequest,
  seed: number,
  style: 'nested' | 'string',
): KnowEditRecord {
  const rng = recordRng(seed, 'knowedit', request);
  const truth = (answer: string): KnowEditGroundTruth => (style === 'nested' ? [[answer]] : answer);
  const { statements } = RELATION_PHRASINGS[request.relation];
  const subject = request.subject.name;
  const reasoning: KnowEditPrompt[] = request.portability.map((p) => ({
    prompt: fill(rng.pick(COMPOSITION_PHRASINGS[p.composition].statements.train), subject),
    ground_truth: truth(p.answer.name),
  }));
  const others = world.relationsOf(request.subject.id).filter((r) => r !== request.relation);
  const specificity: KnowEditPrompt[] = rng.sample(others, LOCALITY_COUNT).map((r) => ({
    prompt: fill(rng.pick(RELATION_PHRASINGS[r].statements.train), subject),
    ground_truth: truth(world.entity(world.object(request.subject.id, r) as string).name),
  }));
  return {
    subject,
    prompt: fill(rng.pick(statements.train), subject),
    target_new: request.newObject.name,
    ground_truth: request.trueObject.name,
    rephrase_prompt: fill(rng.pick(statements.heldOut), subject),
    portability: { Reasoning: reasoning },
    locality: specificity.length > 0 ? { Relation_Specificity: specificity } : {},
  };
}

export interface WorldDatasets {
  requests: { test: EditRequest[]; train: EditRequest[] };
  files: {
    'counterfact-test.json': CounterFactRecord[];
    'counterfact-edit-test.json': CounterFactFlatRecord[];
    'counterfact-edit-train.json': CounterFactFlatRecord[];
    'zsre-test.json': ZsreRecord[];
    'zsre-train.json': ZsreRecord[];
    'knowedit-test.json': KnowEditRecord[];
    'knowedit-train.json': KnowEditRecord[];
  };
}

/** All dataset files from one selection of edit requests. */
export function buildDatasets(world: World, selection: Partial<EditSelection> = {}): WorldDatasets {
  const seed = selection.seed ?? world.seed;
  const requests = selectEditRequests(world, { ...selection, seed });
  const pararel = factIndex(world);
  const { test, train } = requests;
  return {
    requests,
    files: {
      'counterfact-test.json': test.map((r) => toCounterFact(world, r, seed, pararel(r.relation, r.subject.id))),
      'counterfact-edit-test.json': test.map((r) => toCounterFactFlat(world, r, seed)),
      'counterfact-edit-train.json': train.map((r) => toCounterFactFlat(world, r, seed)),
      'zsre-test.json': test.map((r) => toZsre(world, r, seed, true)),
      'zsre-train.json': train.map((r) => toZsre(world, r, seed, false)),
      'knowedit-test.json': test.map((r) => toKnowEdit(world, r, seed, 'nested')),
      'knowedit-train.json': train.map((r) => toKnowEdit(world, r, seed, 'string')),
    },
  };
}

/** A JSON array with one record per line: compact, yet diffs and `head` stay readable. */
export function jsonLinesArray(records: readonly unknown[]): string {
  return `[\n${records.map((r) => JSON.stringify(r)).join(',\n')}\n]\n`;
}
