import { describe, expect, it } from 'vitest';
import { selectEditRequests } from './edits';
import { generateWorld } from './graph';
import { knownFactProbes, neighborhoodProbes, twoHopProbes } from './probes';
import { RELATION_IDS } from './schema';
import { COMPOSITION_PHRASINGS, RELATION_PHRASINGS, fill } from './templates';
import { groundTruth } from './world';

const world = generateWorld(1);

describe('probes', () => {
  it('ask known facts in train and held-out phrasings of both forms, with true answers', () => {
    const probes = knownFactProbes(world);
    for (const relation of RELATION_IDS) {
      const mine = probes.filter((p) => p.relation === relation);
      expect(mine.length).toBe(4 * Math.min(250, world.facts(relation).length));
    }
    for (const p of probes) {
      expect(groundTruth(world, p.subject, p.relation)?.name).toBe(p.answer);
      const templates = RELATION_PHRASINGS[p.relation][p.form][p.phrasing];
      expect(templates.some((t) => fill(t, p.subject) === p.prompt), p.prompt).toBe(true);
    }
  });

  it('ask two-hop questions with their split, bridge and shortcut', () => {
    const probes = twoHopProbes(world);
    expect(probes.some((p) => p.split === 'heldOut')).toBe(true);
    expect(probes.some((p) => p.split === 'train')).toBe(true);
    for (const p of probes) {
      const subject = world.findByName(p.subject)!;
      expect(groundTruth(world, p.subject, p.composition)?.name).toBe(p.answer);
      expect(world.compositionSplit(subject.id, p.composition)).toBe(p.split);
      expect(COMPOSITION_PHRASINGS[p.composition][p.form].train.some((t) => fill(t, p.subject) === p.prompt)).toBe(true);
      if (p.shortcut) expect(groundTruth(world, p.subject, p.shortcut)?.name).toBe(p.answer);
    }
    const birth = probes.filter((p) => p.composition === 'birth_country');
    const viaCitizenship = birth.filter((p) => p.shortcut === 'citizen_of').length / birth.length;
    expect(viaCitizenship).toBeGreaterThan(0.8);
  });

  it('sample the same requests with different neighbourhoods per seed', () => {
    const { test } = selectEditRequests(world, { testCount: 50, trainCount: 0 });
    const a = neighborhoodProbes(world, test, 1);
    const b = neighborhoodProbes(world, test, 2);
    expect(a.map((x) => x.case_id)).toEqual(b.map((x) => x.case_id));
    expect(a.map((x) => x.ground_truth)).toEqual(b.map((x) => x.ground_truth));
    expect(a.filter((x, i) => JSON.stringify(x.prompts) !== JSON.stringify(b[i]?.prompts)).length).toBeGreaterThan(40);
  });
});
