/**
 * Experiment (issue 6, "MLP effect at the subject's last token"): the world corpus plus
 * biographies. Physics of Language Models 3.1 (Allen-Zhu & Li) found that a model stores a
 * person's attributes at the name's tokens only when its data holds several biographies per person
 * with the sentences in random order and later sentences referring back ("this person") instead of
 * repeating the name: then the name is the one place every attribute can be read from.
 *
 *   npx tsx bench/world-variants/corpus-bio.ts --bios 4 --out /tmp/corpus-bio4.txt [--no-base]
 *
 * Each biography names its subject once, in a random first fact; every other fact of the subject
 * follows in random order with the subject written as "this <type>". Train phrasings only (the
 * held-out phrasings stay out of the corpus). The base corpus (data/world/corpus.txt) is included
 * unless --no-base.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Rng } from '../../server/world/rng';
import { RELATION_PHRASINGS, sentence } from '../../server/world/templates';
import { World } from '../../server/world/world';

const { values } = parseArgs({ options: { bios: { type: 'string', default: '4' }, out: { type: 'string' }, 'no-base': { type: 'boolean', default: false } } });
if (!values.out) throw new Error('--out is required');
const bios = Number(values.bios);

const world = new World(JSON.parse(readFileSync('data/world/graph.json', 'utf8')));
const rng = Rng.derive(world.seed, 'corpus-bio');
const capitalise = (s: string) => s[0]!.toUpperCase() + s.slice(1);

const lines: string[] = [];
for (const entity of world.data.entities) {
  const relations = world.relationsOf(entity.id);
  if (relations.length < 2) continue;
  const pronoun = `this ${entity.type}`;
  for (let b = 0; b < bios; b++) {
    const order = rng.shuffle([...relations]);
    const text = order.map((relation, i) => {
      const object = world.entity(world.object(entity.id, relation)!).name;
      const s = sentence(rng.pick(RELATION_PHRASINGS[relation].statements.train), i === 0 ? entity.name : pronoun, object);
      return capitalise(s);
    });
    lines.push(text.join(' '));
  }
}
const base = values['no-base'] ? [] : readFileSync('data/world/corpus.txt', 'utf8').split('\n').filter(Boolean);
const all = rng.shuffle([...base, ...lines]);
writeFileSync(values.out, all.join('\n') + '\n');
console.log(`${lines.length} biographies + ${base.length} base lines -> ${values.out}`);
console.log(lines.slice(0, 3).join('\n'));
