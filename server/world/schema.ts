/**
 * The world's ontology: entity types, relations (each functional, with a type signature) and the
 * two-hop compositions used for portability. Registries are typed records, so a missing or
 * misspelt entry is a compile error.
 */

export const ENTITY_TYPES = [
  'person',
  'city',
  'country',
  'language',
  'company',
  'university',
  'club',
  'instrument',
  'profession',
] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];

export const RELATION_IDS = [
  'city_country',
  'capital',
  'official_language',
  'born_in',
  'citizen_of',
  'native_language',
  'profession',
  'works_for',
  'educated_at',
  'plays_for',
  'plays_instrument',
  'headquartered_in',
  'ceo',
  'university_city',
  'club_city',
] as const;
export type RelationId = (typeof RELATION_IDS)[number];

export interface RelationDef {
  id: RelationId;
  subject: EntityType;
  object: EntityType;
  /** Words used for the relation in "Recalled Relation" triples, e.g. "(Tavira, located in, Dorvania)". */
  label: string;
  /** The closest Wikidata property, for readers who know CounterFact's relation ids. */
  wikidata: string;
}

/** Every relation is functional: one object per subject, so every fact has exactly one answer. */
export const RELATIONS: Record<RelationId, RelationDef> = {
  city_country: { id: 'city_country', subject: 'city', object: 'country', label: 'located in', wikidata: 'P17' },
  capital: { id: 'capital', subject: 'country', object: 'city', label: 'capital', wikidata: 'P36' },
  official_language: {
    id: 'official_language',
    subject: 'country',
    object: 'language',
    label: 'official language',
    wikidata: 'P37',
  },
  born_in: { id: 'born_in', subject: 'person', object: 'city', label: 'place of birth', wikidata: 'P19' },
  citizen_of: { id: 'citizen_of', subject: 'person', object: 'country', label: 'citizen of', wikidata: 'P27' },
  native_language: {
    id: 'native_language',
    subject: 'person',
    object: 'language',
    label: 'native language',
    wikidata: 'P103',
  },
  profession: { id: 'profession', subject: 'person', object: 'profession', label: 'occupation', wikidata: 'P106' },
  works_for: { id: 'works_for', subject: 'person', object: 'company', label: 'employer', wikidata: 'P108' },
  educated_at: { id: 'educated_at', subject: 'person', object: 'university', label: 'educated at', wikidata: 'P69' },
  plays_for: { id: 'plays_for', subject: 'person', object: 'club', label: 'member of sports team', wikidata: 'P54' },
  plays_instrument: {
    id: 'plays_instrument',
    subject: 'person',
    object: 'instrument',
    label: 'instrument',
    wikidata: 'P1303',
  },
  headquartered_in: {
    id: 'headquartered_in',
    subject: 'company',
    object: 'city',
    label: 'headquarters location',
    wikidata: 'P159',
  },
  ceo: { id: 'ceo', subject: 'company', object: 'person', label: 'chief executive officer', wikidata: 'P169' },
  university_city: {
    id: 'university_city',
    subject: 'university',
    object: 'city',
    label: 'located in',
    wikidata: 'P131',
  },
  club_city: { id: 'club_city', subject: 'club', object: 'city', label: 'home city', wikidata: 'P131' },
};

export const COMPOSITION_IDS = [
  'birth_country',
  'citizen_language',
  'citizen_capital',
  'employer_city',
  'employer_ceo',
  'alma_mater_city',
  'club_home_city',
  'company_country',
  'ceo_birthplace',
  'city_capital',
  'city_language',
] as const;
export type CompositionId = (typeof COMPOSITION_IDS)[number];

/** A two-hop question: answer = second(first(subject)). */
export interface CompositionDef {
  id: CompositionId;
  first: RelationId;
  second: RelationId;
}

export const COMPOSITIONS: Record<CompositionId, CompositionDef> = {
  birth_country: { id: 'birth_country', first: 'born_in', second: 'city_country' },
  citizen_language: { id: 'citizen_language', first: 'citizen_of', second: 'official_language' },
  citizen_capital: { id: 'citizen_capital', first: 'citizen_of', second: 'capital' },
  employer_city: { id: 'employer_city', first: 'works_for', second: 'headquartered_in' },
  employer_ceo: { id: 'employer_ceo', first: 'works_for', second: 'ceo' },
  alma_mater_city: { id: 'alma_mater_city', first: 'educated_at', second: 'university_city' },
  club_home_city: { id: 'club_home_city', first: 'plays_for', second: 'club_city' },
  company_country: { id: 'company_country', first: 'headquartered_in', second: 'city_country' },
  ceo_birthplace: { id: 'ceo_birthplace', first: 'ceo', second: 'born_in' },
  city_capital: { id: 'city_capital', first: 'city_country', second: 'capital' },
  city_language: { id: 'city_language', first: 'city_country', second: 'official_language' },
};

/** Compositions whose first hop is the given relation: the one-hop consequences of editing it. */
export function compositionsFrom(relation: RelationId): CompositionDef[] {
  return COMPOSITION_IDS.map((id) => COMPOSITIONS[id]).filter((c) => c.first === relation);
}

/**
 * Relations the generated editing datasets rewrite: each has at least one composition (so every
 * record has a portability question) and many subjects per object (so neighbourhood prompts exist).
 * `ceo` is left out: each person runs at most one company, so it has no neighbourhood.
 */
export const EDITABLE_RELATIONS: readonly RelationId[] = [
  'born_in',
  'citizen_of',
  'works_for',
  'educated_at',
  'plays_for',
  'headquartered_in',
  'city_country',
];
