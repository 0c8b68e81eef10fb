/**
 * The seeded generator of the world's knowledge graph. Consistency rules:
 * - every city is located in one country; a country's capital is one of its cities;
 * - every language is the official language of at least one country;
 * - a person's citizenship is the country of their birth city, and their native language the
 *   official language of that country, except for a recorded minority (`exceptions`);
 * - employees work for a company, athletes play for a club, musicians play an instrument
 *   (decided by their profession); every person studied at a university;
 * - every company has employees, and its CEO is one of them.
 */
import { NameRegistry } from './names';
import { Rng } from './rng';
import type { CompositionId, EntityType, RelationId } from './schema';
import { COMPOSITIONS, COMPOSITION_IDS, RELATION_IDS } from './schema';
import { templateWords } from './templates';
import type { CompositionSplit, Entity, WorldData, WorldRates, WorldSizes } from './world';
import { World } from './world';

export const DEFAULT_SIZES: WorldSizes = {
  countries: 24,
  languages: 16,
  cities: 144,
  companies: 100,
  universities: 48,
  clubs: 48,
  persons: 2000,
};

export const DEFAULT_RATES: WorldRates = {
  citizenshipMatchesBirth: 0.9,
  nativeLanguageMatchesBirth: 0.9,
  compositionHeldOut: 0.5,
  athletes: 0.2,
  musicians: 0.15,
};

type ProfessionKind = 'employee' | 'athlete' | 'musician';

/** Real words: professions and instruments are common nouns, not invented names. */
export const PROFESSIONS: Record<ProfessionKind, readonly string[]> = {
  employee: [
    'engineer',
    'architect',
    'physician',
    'lawyer',
    'teacher',
    'journalist',
    'chemist',
    'accountant',
    'economist',
    'pharmacist',
    'designer',
    'banker',
  ],
  athlete: ['footballer', 'hockey player', 'basketball player', 'rugby player'],
  musician: ['musician', 'composer', 'bandleader'],
};

export const INSTRUMENTS: readonly string[] = [
  'violin',
  'cello',
  'piano',
  'flute',
  'oboe',
  'clarinet',
  'trumpet',
  'harp',
  'guitar',
  'drums',
  'bassoon',
  'saxophone',
  'trombone',
  'banjo',
  'accordion',
  'mandolin',
];

const COMPANY_SUFFIXES = ['Systems', 'Industries', 'Motors', 'Foods', 'Labs', 'Group', 'Works', 'Media', 'Energy'];
const UNIVERSITY_SUFFIXES = ['University', 'Institute', 'College', 'Academy'];
const CLUB_SUFFIXES = ['United', 'Rovers', 'Athletic', 'Wanderers', 'Rangers', 'Albion'];

/** Capitals draw more births, companies and clubs: neighbourhoods (same object) stay populated. */
const CAPITAL_WEIGHT = 4;

class Builder {
  readonly entities: Entity[] = [];
  private readonly byId = new Map<string, Entity>();
  readonly facts = Object.fromEntries(RELATION_IDS.map((r) => [r, {}])) as Record<
    RelationId,
    Record<string, string>
  >;

  add(type: EntityType, name: string): Entity {
    const entity: Entity = { id: `W${this.entities.length + 1}`, type, name };
    this.entities.push(entity);
    this.byId.set(entity.id, entity);
    return entity;
  }

  /** The object entity of a fact already set. */
  object(relation: RelationId, subject: Entity): Entity {
    const id = this.facts[relation][subject.id];
    const entity = id === undefined ? undefined : this.byId.get(id);
    if (!entity) throw new Error(`generateWorld: ${subject.name} has no ${relation} yet`);
    return entity;
  }

  set(relation: RelationId, subject: Entity, object: Entity): void {
    this.facts[relation][subject.id] = object.id;
  }
}

function checkSizes(sizes: WorldSizes): void {
  if (sizes.languages > sizes.countries) throw new Error('generateWorld: more languages than countries');
  if (sizes.cities < 2 * sizes.countries) throw new Error('generateWorld: need at least two cities per country');
  const employees = Math.round(sizes.persons * 0.5);
  if (employees < sizes.companies) throw new Error('generateWorld: too few persons to staff every company');
  for (const [k, v] of Object.entries(sizes)) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`generateWorld: size ${k} must be a positive integer`);
  }
}

/** Generate a consistent world; the same seed and sizes always give the same world. */
export function generateWorld(seed: number, sizes: Partial<WorldSizes> = {}, rates: Partial<WorldRates> = {}): World {
  const S: WorldSizes = { ...DEFAULT_SIZES, ...sizes };
  const R: WorldRates = { ...DEFAULT_RATES, ...rates };
  checkSizes(S);
  const names = new NameRegistry();
  names.reserve(templateWords());
  names.reserve([...COMPANY_SUFFIXES, ...UNIVERSITY_SUFFIXES, ...CLUB_SUFFIXES, ...INSTRUMENTS]);
  names.reserve(Object.values(PROFESSIONS).flatMap((p) => p.flatMap((w) => w.split(' '))));
  const nameRng = Rng.derive(seed, 'names');
  const rng = Rng.derive(seed, 'facts');
  const b = new Builder();

  // Places and languages.
  const countries = Array.from({ length: S.countries }, () => b.add('country', names.invent(nameRng, 'country')));
  const languages = Array.from({ length: S.languages }, () => b.add('language', names.invent(nameRng, 'language')));
  const languageOrder = rng.shuffle(languages);
  countries.forEach((country, i) => {
    // The first |languages| countries get distinct languages, so every language is official somewhere.
    b.set('official_language', country, languageOrder[i] ?? rng.pick(languages));
  });
  const cityCountry: Entity[] = [];
  for (let i = 0; i < S.cities; i++) {
    cityCountry.push(countries[i % S.countries] ?? rng.pick(countries));
  }
  const cities: Entity[] = [];
  const cityWeights: number[] = [];
  const capitalOf = new Map<string, Entity>();
  for (const country of rng.shuffle(cityCountry)) {
    const city = b.add('city', names.invent(nameRng, 'city'));
    b.set('city_country', city, country);
    const isCapital = !capitalOf.has(country.id);
    if (isCapital) {
      capitalOf.set(country.id, city);
      b.set('capital', country, city);
    }
    cities.push(city);
    cityWeights.push((isCapital ? CAPITAL_WEIGHT : 1) * (0.3 + rng.float()));
  }
  const pickCity = () => cities[rng.weightedIndex(cityWeights)] as Entity;

  // Organisations.
  const stem = (suffixes: readonly string[]) => `${names.invent(nameRng, 'stem')} ${rng.pick(suffixes)}`;
  const companies = Array.from({ length: S.companies }, () => b.add('company', stem(COMPANY_SUFFIXES)));
  for (const c of companies) b.set('headquartered_in', c, pickCity());
  const universities = Array.from({ length: S.universities }, () => b.add('university', stem(UNIVERSITY_SUFFIXES)));
  for (const u of universities) b.set('university_city', u, pickCity());
  const clubs = Array.from({ length: S.clubs }, () => b.add('club', stem(CLUB_SUFFIXES)));
  for (const c of clubs) b.set('club_city', c, pickCity());
  const instruments = INSTRUMENTS.map((name) => b.add('instrument', name));
  const professions = new Map<ProfessionKind, Entity[]>();
  for (const kind of Object.keys(PROFESSIONS) as ProfessionKind[]) {
    professions.set(
      kind,
      PROFESSIONS[kind].map((name) => b.add('profession', name)),
    );
  }

  // People: unique "Given Family" names; given and family names are shared, as in real life.
  const givenPool = Array.from({ length: Math.ceil(Math.sqrt(S.persons) * 3.5) }, () =>
    names.invent(nameRng, 'given'),
  );
  const familyPool = Array.from({ length: Math.ceil(S.persons / 3) }, () => names.invent(nameRng, 'family'));
  const personNames = new Set<string>();
  while (personNames.size < S.persons) personNames.add(`${rng.pick(givenPool)} ${rng.pick(familyPool)}`);
  const persons = [...personNames].map((name) => b.add('person', name));
  const exceptions: WorldData['exceptions'] = { citizenship: [], nativeLanguage: [] };
  const employees: Entity[] = [];
  for (const person of persons) {
    const birthCity = pickCity();
    b.set('born_in', person, birthCity);
    const birthCountry = b.object('city_country', birthCity);
    let citizenship = birthCountry;
    if (!rng.chance(R.citizenshipMatchesBirth)) {
      citizenship = rng.pick(countries.filter((c) => c.id !== birthCountry.id));
      exceptions.citizenship.push(person.id);
    }
    b.set('citizen_of', person, citizenship);
    const official = b.object('official_language', birthCountry);
    let native = official;
    if (!rng.chance(R.nativeLanguageMatchesBirth)) {
      native = rng.pick(languages.filter((l) => l.id !== official.id));
      exceptions.nativeLanguage.push(person.id);
    }
    b.set('native_language', person, native);
    b.set('educated_at', person, rng.pick(universities));
    const roll = rng.float();
    const kind: ProfessionKind = roll < R.athletes ? 'athlete' : roll < R.athletes + R.musicians ? 'musician' : 'employee';
    b.set('profession', person, rng.pick(professions.get(kind) ?? []));
    if (kind === 'athlete') b.set('plays_for', person, rng.pick(clubs));
    if (kind === 'musician') b.set('plays_instrument', person, rng.pick(instruments));
    if (kind === 'employee') employees.push(person);
  }
  // Every company gets at least one employee; its CEO is one of its employees.
  const companyWeights = companies.map(() => 0.3 + rng.float());
  rng.shuffle(employees).forEach((person, i) => {
    const company = i < companies.length ? companies[i] : companies[rng.weightedIndex(companyWeights)];
    b.set('works_for', person, company as Entity);
  });
  for (const company of companies) {
    const staff = employees.filter((p) => b.facts.works_for[p.id] === company.id);
    b.set('ceo', company, rng.pick(staff));
  }

  const data: WorldData = {
    seed,
    sizes: S,
    rates: R,
    entities: b.entities,
    facts: b.facts,
    compositionSplit: splitCompositions(b.facts, Rng.derive(seed, 'composition-split'), R.compositionHeldOut),
    exceptions,
  };
  return new World(data);
}

/** Decide, per (subject, composition), whether the corpus states the two-hop fact. */
function splitCompositions(
  facts: Record<RelationId, Record<string, string>>,
  rng: Rng,
  heldOutRate: number,
): Record<CompositionId, Record<string, CompositionSplit>> {
  const out = {} as Record<CompositionId, Record<string, CompositionSplit>>;
  for (const id of COMPOSITION_IDS) {
    const { first, second } = COMPOSITIONS[id];
    const split: Record<string, CompositionSplit> = {};
    for (const [subject, bridge] of Object.entries(facts[first])) {
      if (facts[second][bridge] === undefined) continue;
      split[subject] = rng.chance(heldOutRate) ? 'heldOut' : 'train';
    }
    out[id] = split;
  }
  return out;
}
