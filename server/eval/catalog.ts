/**
 * The datasets an evaluation can be launched on from the studio, by id (a request never names a
 * path): the world's test and train sets (data/world/datasets) and the shared samples of the editing
 * datasets ($LOCUS_EDITING_DATA_DIR or ../shared/data/editing beside the working directory).
 * Files load once and stay cached; a file that is not an editing dataset is listed with its error.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { DatasetCase, DatasetCasesResponse, DatasetInfo } from '../../lib/api/benchmarks';
import { fillPrompt } from '../../lib/editing/request';
import type { EvalCase } from '../../lib/eval';
import { loadEvalCases, type LoadedCases } from './datasets';

export const WORLD_DATASETS_DIR = path.join('data', 'world', 'datasets');

export function editingDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.LOCUS_EDITING_DATA_DIR;
  return dir ? path.resolve(/*turbopackIgnore: true*/ dir) : path.resolve(/*turbopackIgnore: true*/ process.cwd(), '..', 'shared', 'data', 'editing');
}

export class DatasetError extends Error {
  override name = 'DatasetError';
  constructor(
    readonly status: 400 | 404,
    message: string,
  ) {
    super(message);
  }
}

interface Entry {
  id: string;
  label: string;
  file: string;
}

/** world:<name> for data/world/datasets/<name>.json, shared:<name> for the shared samples. */
function entries(cwd: string, sharedDir: string): Entry[] {
  const list = (dir: string, prefix: string, label: string): Entry[] => {
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => ({ id: `${prefix}:${f.replace(/\.json$/, '')}`, label: `${label}: ${f.replace(/\.json$/, '')}`, file: path.join(dir, f) }));
  };
  return [...list(path.resolve(/*turbopackIgnore: true*/ cwd, WORLD_DATASETS_DIR), 'world', 'World'), ...list(sharedDir, 'shared', 'Shared sample')];
}

/** The catalog id of a dataset file named in a committed report (its path as the CLI was given it). */
export function datasetIdOf(file: string): string {
  const name = path.basename(file).replace(/\.json$/, '');
  return file.includes(WORLD_DATASETS_DIR) ? `world:${name}` : `shared:${name}`;
}

export class DatasetCatalog {
  private readonly loaded = new Map<string, Promise<LoadedCases>>();

  constructor(
    private readonly cwd = process.cwd(),
    private readonly sharedDir = editingDataDir(),
  ) {}

  private entry(id: string): Entry {
    const entry = entries(this.cwd, this.sharedDir).find((e) => e.id === id);
    if (!entry) throw new DatasetError(404, `Unknown dataset ${JSON.stringify(id)}; GET /api/datasets lists them`);
    return entry;
  }

  /** The cases of a dataset (loaded on first use); DatasetError(400) when it is not an editing dataset. */
  async cases(id: string): Promise<LoadedCases> {
    const entry = this.entry(id);
    let loading = this.loaded.get(id);
    if (!loading) {
      loading = loadEvalCases(entry.file);
      this.loaded.set(id, loading);
    }
    try {
      return await loading;
    } catch (err) {
      throw new DatasetError(400, `Dataset ${id} cannot be evaluated: ${(err as Error).message.replace(entry.file, path.basename(entry.file))}`);
    }
  }

  async list(): Promise<DatasetInfo[]> {
    return Promise.all(
      entries(this.cwd, this.sharedDir).map(async ({ id, label }): Promise<DatasetInfo> => {
        try {
          const { format, cases, skipped } = await this.cases(id);
          return { id, label, format, cases: cases.length, skipped: skipped.length, error: null };
        } catch (err) {
          return { id, label, format: null, cases: 0, skipped: 0, error: (err as Error).message };
        }
      }),
    );
  }

  /** Cases whose prompt, subject or targets contain every word of `query` (case-insensitive), in file order. */
  async search(id: string, query: string, limit: number): Promise<DatasetCasesResponse> {
    const { cases } = await this.cases(id);
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    const found: DatasetCase[] = [];
    let matches = 0;
    cases.forEach((c, index) => {
      const fact = asFact(c, index);
      const text = `${fact.prompt} ${fact.targetNew} ${fact.targetTrue ?? ''}`.toLowerCase();
      if (!words.every((w) => text.includes(w))) return;
      matches++;
      if (found.length < limit) found.push(fact);
    });
    return { dataset: id, total: cases.length, matches, cases: found };
  }
}

const bare = (target: string) => target.trim();

function asFact(c: EvalCase, index: number): DatasetCase {
  return {
    index,
    id: c.id,
    prompt: fillPrompt(c.request).text,
    subject: c.request.subject,
    targetNew: bare(c.request.targetNew),
    targetTrue: c.request.targetTrue ? bare(c.request.targetTrue) : null,
    paraphrases: c.generality.map((g) => g.prompt),
    neighbours: c.locality.map((l) => ({ prompt: l.prompt, answer: bare(l.groundTruth) })),
    portability: c.portability.map((p) => ({ prompt: p.prompt, answer: bare(p.target) })),
  };
}

let catalog: DatasetCatalog | undefined;

/** The server's catalog (working directory and environment as the server started). */
export function getCatalog(): DatasetCatalog {
  return (catalog ??= new DatasetCatalog());
}
