/**
 * The world as data: entities, functional facts, and which two-hop facts the corpus states.
 * `World` adds the indexes every consumer needs (by id, by name, inverse facts) and the
 * ground-truth lookups the evaluation uses.
 */
import type { CompositionId, EntityType, RelationId } from './schema';
import { COMPOSITIONS, COMPOSITION_IDS, ENTITY_TYPES, RELATIONS, RELATION_IDS } from './schema';

export interface Entity {
  /** Opaque id ("W17"), playing the part of a Wikidata QID in the datasets. */
  id: string;
  type: EntityType;
  name: string;
}

export interface WorldSizes {
  countries: number;
  languages: number;
  cities: number;
  companies: number;
  universities: number;
  clubs: number;
  persons: number;
}

export interface WorldRates {
  /** Share of persons whose citizenship is the country of their birth city. */
  citizenshipMatchesBirth: number;
  /** Share of persons whose native language is the official language of their birth country. */
  nativeLanguageMatchesBirth: number;
  /** Share of (subject, composition) pairs whose two-hop sentences are held out of the corpus. */
  compositionHeldOut: number;
  /** Professions by kind: employees work for a company, athletes play for a club, musicians play an instrument. */
  athletes: number;
  musicians: number;
}

export type CompositionSplit = 'train' | 'heldOut';

/** The serialised form (graph.json). */
export interface WorldData {
  seed: number;
  sizes: WorldSizes;
  rates: WorldRates;
  entities: Entity[];
  /** relation -> subject id -> object id. */
  facts: Record<RelationId, Record<string, string>>;
  /** composition -> subject id -> split, for every subject on which the composition is defined. */
  compositionSplit: Record<CompositionId, Record<string, CompositionSplit>>;
  /** Persons for whom the usual consistency rule was deliberately broken by the generator. */
  exceptions: { citizenship: string[]; nativeLanguage: string[] };
}

export type Predicate = RelationId | CompositionId;

export function isComposition(p: Predicate): p is CompositionId {
  return (COMPOSITION_IDS as readonly string[]).includes(p);
}

export class World {
  readonly data: WorldData;
  private readonly byId = new Map<string, Entity>();
  private readonly byName = new Map<string, Entity>();
  private readonly byType = new Map<EntityType, Entity[]>();
  private readonly inverse = new Map<RelationId, Map<string, string[]>>();

  constructor(data: WorldData) {
    this.data = data;
    for (const type of ENTITY_TYPES) this.byType.set(type, []);
    for (const e of data.entities) {
      if (this.byId.has(e.id)) throw new Error(`World: duplicate entity id ${e.id}`);
      if (this.byName.has(e.name)) throw new Error(`World: duplicate entity name "${e.name}"`);
      this.byId.set(e.id, e);
      this.byName.set(e.name, e);
      this.byType.get(e.type)?.push(e);
    }
    for (const relation of RELATION_IDS) {
      const inv = new Map<string, string[]>();
      for (const [subject, object] of Object.entries(data.facts[relation])) {
        const list = inv.get(object);
        if (list) list.push(subject);
        else inv.set(object, [subject]);
      }
      this.inverse.set(relation, inv);
    }
  }

  get seed(): number {
    return this.data.seed;
  }

  entity(id: string): Entity {
    const e = this.byId.get(id);
    if (!e) throw new Error(`World: no entity with id ${id}`);
    return e;
  }

  /** The entity with this exact name, or undefined. */
  findByName(name: string): Entity | undefined {
    return this.byName.get(name);
  }

  /** An entity given by id or by name. */
  resolve(idOrName: string): Entity | undefined {
    return this.byId.get(idOrName) ?? this.byName.get(idOrName);
  }

  entitiesOf(type: EntityType): readonly Entity[] {
    return this.byType.get(type) ?? [];
  }

  /** The object id of (subject, relation), or undefined when the relation does not apply. */
  object(subjectId: string, relation: RelationId): string | undefined {
    return this.data.facts[relation][subjectId];
  }

  /** Subjects whose object for `relation` is `objectId`, in generation order. */
  subjects(relation: RelationId, objectId: string): readonly string[] {
    return this.inverse.get(relation)?.get(objectId) ?? [];
  }

  /** Every (subject, object) pair of a relation, in generation order. */
  facts(relation: RelationId): [string, string][] {
    return Object.entries(this.data.facts[relation]);
  }

  /** The answer to a relation or a two-hop composition, as an object id. */
  answer(subjectId: string, predicate: Predicate): string | undefined {
    if (!isComposition(predicate)) return this.object(subjectId, predicate);
    const { first, second } = COMPOSITIONS[predicate];
    const bridge = this.object(subjectId, first);
    return bridge === undefined ? undefined : this.object(bridge, second);
  }

  /** Whether the corpus states the composition for this subject ("train") or not ("heldOut"). */
  compositionSplit(subjectId: string, composition: CompositionId): CompositionSplit | undefined {
    return this.data.compositionSplit[composition][subjectId];
  }

  /** Relations that apply to a subject, in registry order. */
  relationsOf(subjectId: string): RelationId[] {
    const type = this.entity(subjectId).type;
    return RELATION_IDS.filter((r) => RELATIONS[r].subject === type && this.object(subjectId, r) !== undefined);
  }

  toJSON(): WorldData {
    return this.data;
  }
}

/**
 * Ground truth for the evaluation: the object entity of (subject, relation or composition), with the
 * subject given by id or by name; undefined when the subject is unknown or the relation does not apply.
 */
export function groundTruth(world: World, subject: string, predicate: Predicate): Entity | undefined {
  const s = world.resolve(subject);
  if (!s) return undefined;
  const objectId = world.answer(s.id, predicate);
  return objectId === undefined ? undefined : world.entity(objectId);
}
