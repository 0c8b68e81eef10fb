/**
 * The shared sample files that carry one-hop portability questions, read from
 * $LOCUS_EDITING_DATA_DIR or `../shared/data/editing` beside the working directory (where tests and
 * benchmarks read them, ../shared/data/editing/README.md).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { editingDataDir } from '../eval/catalog';
import { ReviewImportError } from './parse';

/** The files whose records have `portability {Recalled Relation, New Question, New Answer}`. */
export const PORTABILITY_SOURCES: Record<string, string> = {
  'counterfact-portability.sample.json': 'CounterFact + one-hop portability (Yao et al. 2023)',
  'zsre-portability.sample.json': 'zsRE + one-hop portability (Yao et al. 2023)',
};

/** The portability sources present on this machine. */
export function listSources(dir = editingDataDir()): { name: string; dataset: string }[] {
  return Object.entries(PORTABILITY_SOURCES)
    .filter(([name]) => existsSync(path.join(/*turbopackIgnore: true*/ dir, name)))
    .map(([name, dataset]) => ({ name, dataset }));
}

/** A source's JSON; only the listed names are read (a name is never a path). */
export async function readSource(name: string, dir = editingDataDir()): Promise<unknown> {
  if (!Object.hasOwn(PORTABILITY_SOURCES, name)) throw new ReviewImportError(`Unknown source ${JSON.stringify(name)}; choose one of ${Object.keys(PORTABILITY_SOURCES).join(', ')}`);
  const file = path.join(/*turbopackIgnore: true*/ dir, name);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new ReviewImportError(`The source ${name} is not on this machine (looked in ${dir})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ReviewImportError(`The source ${name} is not valid JSON`);
  }
}
