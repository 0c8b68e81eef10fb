/**
 * The world model's training corpus: one short document per line, deterministic from the world.
 *
 * - every fact, once in each TRAIN statement phrasing and each TRAIN question phrasing;
 * - every two-hop fact of the trained composition split, in each TRAIN composition phrasing
 *   (held-out (subject, composition) pairs never appear: portability ground truth);
 * - one short paragraph per chunk of a subject's facts (at most PARAGRAPH_FACTS sentences, random
 *   train phrasings), so the model also reads facts after other text, as paraphrase prompts put them;
 * - every fact once more after one or two sentences about other subjects (MIXED_PREFIX_MAX), so
 *   recall does not depend on a fact opening its line: CounterFact's paraphrase prompts and ROME's
 *   context templates put the prompt after unrelated text.
 *
 * Held-out phrasings are never used. Lines are short (under ~60 tokens with a few-thousand-token BPE),
 * so a context of 64-128 tokens holds a whole line; a trainer should put an end-of-text token
 * between lines (or pack them with one) and reshuffle every epoch.
 */
import { Rng } from './rng';
import type { RelationId } from './schema';
import { COMPOSITION_IDS, RELATION_IDS } from './schema';
import { COMPOSITION_PHRASINGS, RELATION_PHRASINGS, sentence } from './templates';
import type { World } from './world';

export const PARAGRAPH_FACTS = 3;
export const MIXED_PREFIX_MAX = 2;

export type CorpusLineKind = 'fact' | 'twoHop' | 'paragraph' | 'mixed';

export interface CorpusStats {
  lines: number;
  characters: number;
  bytes: number;
  words: number;
  distinctWords: number;
  linesByKind: Record<CorpusLineKind, number>;
  facts: number;
  factsByRelation: Record<RelationId, number>;
  twoHopFactsTrained: number;
  twoHopFactsHeldOut: number;
  longestLineWords: number;
}

export interface Corpus {
  lines: string[];
  stats: CorpusStats;
}

export function buildCorpus(world: World): Corpus {
  const rng = Rng.derive(world.seed, 'corpus');
  const tagged: { kind: CorpusLineKind; text: string }[] = [];
  const factsByRelation = {} as Record<RelationId, number>;
  let facts = 0;

  for (const relation of RELATION_IDS) {
    const { statements, questions } = RELATION_PHRASINGS[relation];
    const pairs = world.facts(relation);
    factsByRelation[relation] = pairs.length;
    facts += pairs.length;
    for (const [subjectId, objectId] of pairs) {
      const s = world.entity(subjectId).name;
      const o = world.entity(objectId).name;
      for (const t of [...statements.train, ...questions.train]) tagged.push({ kind: 'fact', text: sentence(t, s, o) });
    }
  }

  let twoHopFactsTrained = 0;
  let twoHopFactsHeldOut = 0;
  for (const composition of COMPOSITION_IDS) {
    const { statements, questions } = COMPOSITION_PHRASINGS[composition];
    for (const [subjectId, split] of Object.entries(world.data.compositionSplit[composition])) {
      if (split === 'heldOut') {
        twoHopFactsHeldOut++;
        continue;
      }
      twoHopFactsTrained++;
      const answer = world.answer(subjectId, composition);
      if (answer === undefined) throw new Error(`buildCorpus: ${composition} undefined for ${subjectId}`);
      const s = world.entity(subjectId).name;
      const o = world.entity(answer).name;
      for (const t of [...statements.train, ...questions.train]) tagged.push({ kind: 'twoHop', text: sentence(t, s, o) });
    }
  }

  for (const subject of world.data.entities) {
    const relations = rng.shuffle(world.relationsOf(subject.id));
    for (let i = 0; i < relations.length; i += PARAGRAPH_FACTS) {
      const text = relations
        .slice(i, i + PARAGRAPH_FACTS)
        .map((r) => sentence(rng.pick(RELATION_PHRASINGS[r].statements.train), subject.name, objectName(world, subject.id, r)))
        .join(' ');
      tagged.push({ kind: 'paragraph', text });
    }
  }

  const allFacts = RELATION_IDS.flatMap((relation) => world.facts(relation).map(([subjectId, objectId]) => ({ relation, subjectId, objectId })));
  const statementOf = (f: (typeof allFacts)[number]) =>
    sentence(rng.pick(RELATION_PHRASINGS[f.relation].statements.train), world.entity(f.subjectId).name, world.entity(f.objectId).name);
  for (const fact of allFacts) {
    const prefix: string[] = [];
    const wanted = 1 + rng.int(MIXED_PREFIX_MAX);
    while (prefix.length < wanted) {
      const other = allFacts[rng.int(allFacts.length)]!;
      if (other.subjectId !== fact.subjectId) prefix.push(statementOf(other));
    }
    const { statements, questions } = RELATION_PHRASINGS[fact.relation];
    const main = sentence(rng.pick([...statements.train, ...questions.train]), world.entity(fact.subjectId).name, world.entity(fact.objectId).name);
    tagged.push({ kind: 'mixed', text: [...prefix, main].join(' ') });
  }

  const lines = rng.shuffle(tagged);
  const linesByKind: Record<CorpusLineKind, number> = { fact: 0, twoHop: 0, paragraph: 0, mixed: 0 };
  const vocabulary = new Set<string>();
  let characters = 0;
  let bytes = 0;
  let words = 0;
  let longestLineWords = 0;
  for (const { kind, text } of lines) {
    linesByKind[kind]++;
    characters += text.length + 1;
    bytes += Buffer.byteLength(text) + 1;
    const lineWords = text.split(' ');
    words += lineWords.length;
    longestLineWords = Math.max(longestLineWords, lineWords.length);
    for (const w of lineWords) vocabulary.add(w);
  }
  return {
    lines: lines.map((l) => l.text),
    stats: {
      lines: lines.length,
      characters,
      bytes,
      words,
      distinctWords: vocabulary.size,
      linesByKind,
      facts,
      factsByRelation,
      twoHopFactsTrained,
      twoHopFactsHeldOut,
      longestLineWords,
    },
  };
}

function objectName(world: World, subjectId: string, relation: RelationId): string {
  const objectId = world.object(subjectId, relation);
  if (objectId === undefined) throw new Error(`buildCorpus: ${subjectId} has no ${relation}`);
  return world.entity(objectId).name;
}

/** The file form: one document per line, newline-terminated. */
export function corpusText(corpus: Corpus): string {
  return corpus.lines.join('\n') + '\n';
}
