/**
 * Example prompts for the studio: facts of the synthetic world in the phrasings the world model
 * was trained on (data/world/probes/known-facts.json, written by `npm run world:generate`).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { ExampleFact } from '../../lib/api/facts';

export const KNOWN_FACTS_FILE = path.join('data', 'world', 'probes', 'known-facts.json');

const Probe = z.looseObject({
  prompt: z.string(),
  answer: z.string(),
  subject: z.string(),
  relation: z.string(),
  form: z.string(),
  phrasing: z.string(),
});

/**
 * The first training-phrasing statement of each relation, in file order (so the first example
 * is the file's first train probe). Empty when the world has not been generated.
 */
export async function exampleFacts(cwd = process.cwd()): Promise<ExampleFact[]> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path.resolve(cwd, KNOWN_FACTS_FILE), 'utf8'));
  } catch {
    return [];
  }
  const probes = z.array(Probe).safeParse(json);
  if (!probes.success) return [];
  const byRelation = new Map<string, ExampleFact>();
  for (const p of probes.data) {
    if (p.phrasing !== 'train' || p.form !== 'statements' || byRelation.has(p.relation)) continue;
    byRelation.set(p.relation, { prompt: p.prompt, answer: p.answer, subject: p.subject, relation: p.relation });
  }
  return [...byRelation.values()];
}
