/**
 * Probe sets for the world model's report (issue 4, "Must show"): what the unedited model knows.
 * Each probe is a prompt and the answer that follows it (" " + answer, teacher-forced).
 *
 * - known facts: a stratified sample of facts, each asked in one TRAIN and one HELD-OUT phrasing
 *   of each form (statement, question);
 * - two-hop: (subject, composition) pairs whose two-hop fact the corpus states ("train") or never
 *   states ("heldOut"), asked in TRAIN composition phrasings, so only the composition is new.
 *   `shortcut` names a one-hop relation of the subject with the same answer (a held-out two-hop
 *   answer that a one-hop fact also gives is not evidence of composition), and
 *   `firstHopInTrainedComposition` says whether the subject's first-hop fact appears in some
 *   trained composition (Wang et al. 2024's "in-distribution" case);
 * - neighbourhood: the neighbourhood prompts of the test edits under several sampling seeds.
 */
import type { EditRequest } from './edits';
import { sampleNeighborhoodPrompts } from './prompts';
import { Rng } from './rng';
import type { CompositionId, RelationId } from './schema';
import { COMPOSITIONS, COMPOSITION_IDS, RELATION_IDS } from './schema';
import type { PhrasingForm, PhrasingSplitName } from './templates';
import { COMPOSITION_PHRASINGS, RELATION_PHRASINGS, fill } from './templates';
import type { World } from './world';

export interface FactProbe {
  prompt: string;
  answer: string;
  subject: string;
  relation: RelationId;
  form: PhrasingForm;
  phrasing: PhrasingSplitName;
}

export interface TwoHopProbe {
  prompt: string;
  answer: string;
  subject: string;
  composition: CompositionId;
  /** The first-hop object. */
  bridge: string;
  split: 'train' | 'heldOut';
  form: PhrasingForm;
  shortcut: RelationId | null;
  firstHopInTrainedComposition: boolean;
}

export interface NeighborhoodProbe {
  case_id: number;
  relation: RelationId;
  subject: string;
  ground_truth: string;
  prompts: string[];
}

export const FACTS_PER_RELATION = 250;
export const TWO_HOP_PER_SPLIT = 150;
export const NEIGHBORHOOD_SEEDS = [1, 2, 3] as const;

const FORMS: PhrasingForm[] = ['statements', 'questions'];
const SPLITS: PhrasingSplitName[] = ['train', 'heldOut'];

export function knownFactProbes(world: World, perRelation = FACTS_PER_RELATION): FactProbe[] {
  const rng = Rng.derive(world.seed, 'probes:facts');
  const out: FactProbe[] = [];
  for (const relation of RELATION_IDS) {
    for (const [subjectId, objectId] of rng.sample(world.facts(relation), perRelation)) {
      const subject = world.entity(subjectId).name;
      const answer = world.entity(objectId).name;
      for (const form of FORMS) {
        for (const phrasing of SPLITS) {
          const template = rng.pick(RELATION_PHRASINGS[relation][form][phrasing]);
          out.push({ prompt: fill(template, subject), answer, subject, relation, form, phrasing });
        }
      }
    }
  }
  return out;
}

export function twoHopProbes(world: World, perSplit = TWO_HOP_PER_SPLIT): TwoHopProbe[] {
  const rng = Rng.derive(world.seed, 'probes:two-hop');
  const out: TwoHopProbe[] = [];
  for (const composition of COMPOSITION_IDS) {
    const { first } = COMPOSITIONS[composition];
    const pairs = Object.entries(world.data.compositionSplit[composition]);
    for (const split of ['train', 'heldOut'] as const) {
      const chosen = rng.sample(
        pairs.filter(([, s]) => s === split).map(([id]) => id),
        perSplit,
      );
      for (const subjectId of chosen) {
        const answerId = world.answer(subjectId, composition) as string;
        const bridgeId = world.object(subjectId, first) as string;
        const shortcut = world.relationsOf(subjectId).find((r) => world.object(subjectId, r) === answerId) ?? null;
        const firstHopInTrainedComposition = COMPOSITION_IDS.some(
          (c) => c !== composition && COMPOSITIONS[c].first === first && world.compositionSplit(subjectId, c) === 'train',
        );
        for (const form of FORMS) {
          out.push({
            prompt: fill(rng.pick(COMPOSITION_PHRASINGS[composition][form].train), world.entity(subjectId).name),
            answer: world.entity(answerId).name,
            subject: world.entity(subjectId).name,
            composition,
            bridge: world.entity(bridgeId).name,
            split,
            form,
            shortcut,
            firstHopInTrainedComposition,
          });
        }
      }
    }
  }
  return out;
}

/** The neighbourhood prompts of each request under one sampling seed (answer: the true object). */
export function neighborhoodProbes(world: World, requests: readonly EditRequest[], seed: number): NeighborhoodProbe[] {
  return requests.map((r) => ({
    case_id: r.caseId,
    relation: r.relation,
    subject: r.subject.name,
    ground_truth: r.trueObject.name,
    prompts: sampleNeighborhoodPrompts(world, r, seed),
  }));
}
