import { describe, expect, it } from 'vitest';
import { INSTRUMENTS, PROFESSIONS, generateWorld } from './graph';
import { COMPOSITIONS, COMPOSITION_IDS, RELATIONS, RELATION_IDS } from './schema';
import { templateWords } from './templates';
import { World, groundTruth } from './world';

const world = generateWorld(1);
const kindOf = new Map<string, string>(
  Object.entries(PROFESSIONS).flatMap(([kind, names]) => names.map((n) => [n, kind] as [string, string])),
);

function name(id: string | undefined): string {
  return id === undefined ? '(none)' : world.entity(id).name;
}

describe('generateWorld', () => {
  it('gives the same world for the same seed and another world for another seed', () => {
    expect(JSON.stringify(generateWorld(1).data)).toBe(JSON.stringify(world.data));
    expect(JSON.stringify(generateWorld(2).data)).not.toBe(JSON.stringify(world.data));
  });

  it('builds the default sizes: a few thousand entities', () => {
    expect(world.entitiesOf('person')).toHaveLength(2000);
    expect(world.entitiesOf('country')).toHaveLength(24);
    expect(world.entitiesOf('instrument')).toHaveLength(INSTRUMENTS.length);
    expect(world.data.entities.length).toBeGreaterThan(2000);
  });

  it('gives every entity a unique name, and invented name words are unique and prefix-free', () => {
    const names = world.data.entities.map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    const invented = new Set<string>();
    const inventedTypes = ['city', 'country', 'language', 'company', 'university', 'club'] as const;
    for (const type of inventedTypes) for (const e of world.entitiesOf(type)) invented.add(e.name.split(' ')[0] as string);
    for (const p of world.entitiesOf('person')) for (const w of p.name.split(' ')) invented.add(w);
    const words = [...invented].map((w) => w.toLowerCase()).sort();
    for (let i = 1; i < words.length; i++) {
      expect((words[i] as string).startsWith(words[i - 1] as string), `${words[i - 1]} prefixes ${words[i]}`).toBe(false);
    }
    const reserved = new Set([...templateWords()].map((w) => w.toLowerCase()));
    for (const w of words) expect(reserved.has(w), w).toBe(false);
  });

  it('respects every relation type signature', () => {
    for (const r of RELATION_IDS) {
      for (const [s, o] of world.facts(r)) {
        expect(world.entity(s).type, `${r} subject`).toBe(RELATIONS[r].subject);
        expect(world.entity(o).type, `${r} object`).toBe(RELATIONS[r].object);
      }
    }
  });

  it('puts each capital in its own country and gives every country cities and a language', () => {
    for (const country of world.entitiesOf('country')) {
      const capital = world.object(country.id, 'capital');
      expect(capital).toBeDefined();
      expect(world.object(capital as string, 'city_country')).toBe(country.id);
      expect(world.subjects('city_country', country.id).length).toBeGreaterThanOrEqual(2);
      expect(world.object(country.id, 'official_language')).toBeDefined();
    }
    for (const language of world.entitiesOf('language')) {
      expect(world.subjects('official_language', language.id).length, language.name).toBeGreaterThan(0);
    }
  });

  it('makes citizenship and native language follow the birth country, except for the recorded persons', () => {
    const citizenship = new Set(world.data.exceptions.citizenship);
    const nativeLanguage = new Set(world.data.exceptions.nativeLanguage);
    for (const p of world.entitiesOf('person')) {
      const birthCountry = world.answer(p.id, 'birth_country');
      const citizen = world.object(p.id, 'citizen_of');
      expect(citizen === birthCountry, `${p.name} citizen of ${name(citizen)}`).toBe(!citizenship.has(p.id));
      const official = world.object(birthCountry as string, 'official_language');
      const native = world.object(p.id, 'native_language');
      expect(native === official, `${p.name} speaks ${name(native)}`).toBe(!nativeLanguage.has(p.id));
    }
    expect(citizenship.size / 2000).toBeGreaterThan(0.05);
    expect(citizenship.size / 2000).toBeLessThan(0.15);
  });

  it('gives each person the relations of their profession', () => {
    for (const p of world.entitiesOf('person')) {
      const relations = new Set(world.relationsOf(p.id));
      for (const r of ['born_in', 'citizen_of', 'native_language', 'profession', 'educated_at'] as const) {
        expect(relations.has(r), `${p.name} ${r}`).toBe(true);
      }
      const kind = kindOf.get(name(world.object(p.id, 'profession')));
      expect(relations.has('works_for')).toBe(kind === 'employee');
      expect(relations.has('plays_for')).toBe(kind === 'athlete');
      expect(relations.has('plays_instrument')).toBe(kind === 'musician');
    }
  });

  it('makes each CEO an employee of their company', () => {
    for (const company of world.entitiesOf('company')) {
      const ceo = world.object(company.id, 'ceo') as string;
      expect(world.object(ceo, 'works_for')).toBe(company.id);
    }
  });

  it('keeps relations functional through a JSON round trip', () => {
    const copy = new World(JSON.parse(JSON.stringify(world.data)));
    for (const r of RELATION_IDS) {
      const subjects = copy.facts(r).map(([s]) => s);
      expect(new Set(subjects).size).toBe(subjects.length);
      expect(copy.facts(r)).toEqual(world.facts(r));
    }
  });

  it('splits every defined (subject, composition) pair, about half held out', () => {
    for (const c of COMPOSITION_IDS) {
      const { first, second } = COMPOSITIONS[c];
      const defined = world.facts(first).filter(([, bridge]) => world.object(bridge, second) !== undefined);
      const split = world.data.compositionSplit[c];
      expect(Object.keys(split).sort()).toEqual(defined.map(([s]) => s).sort());
      const heldOut = Object.values(split).filter((s) => s === 'heldOut').length;
      expect(heldOut / defined.length, c).toBeGreaterThan(0.3);
      expect(heldOut / defined.length, c).toBeLessThan(0.7);
    }
  });
});

describe('groundTruth', () => {
  const person = world.entitiesOf('person')[0]!;

  it('answers a relation by subject id or by name', () => {
    const city = world.entity(world.object(person.id, 'born_in') as string);
    expect(groundTruth(world, person.id, 'born_in')).toEqual(city);
    expect(groundTruth(world, person.name, 'born_in')).toEqual(city);
  });

  it('answers a two-hop composition as the second hop of the first', () => {
    for (const c of COMPOSITION_IDS) {
      const { first, second } = COMPOSITIONS[c];
      for (const [s, bridge] of world.facts(first).slice(0, 50)) {
        expect(groundTruth(world, s, c)?.id).toBe(world.object(bridge, second));
      }
    }
    const capital = world.object(world.object(person.id, 'citizen_of') as string, 'capital');
    expect(groundTruth(world, person.name, 'citizen_capital')?.id).toBe(capital);
  });

  it('returns undefined for unknown subjects and relations that do not apply', () => {
    expect(groundTruth(world, 'Nobody Atall', 'born_in')).toBeUndefined();
    const country = world.entitiesOf('country')[0]!;
    expect(groundTruth(world, country.id, 'born_in')).toBeUndefined();
  });
});
