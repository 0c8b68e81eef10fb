/**
 * Everything `cli.ts generate` writes, as (relative path -> text): the graph, the phrasings, the
 * corpus, the datasets, the probes, a manifest of counts and hashes, and the README. Pure: the CLI
 * only writes these strings to disk, and the tests compare two builds byte for byte.
 */
import { createHash } from 'node:crypto';
import { buildCorpus, corpusText } from './corpus';
import type { WorldDatasets } from './datasets';
import { buildDatasets, jsonLinesArray } from './datasets';
import type { EditSelection } from './edits';
import { generateWorld } from './graph';
import { NEIGHBORHOOD_SEEDS, knownFactProbes, neighborhoodProbes, twoHopProbes } from './probes';
import { renderReadme } from './readme';
import { COMPOSITIONS, COMPOSITION_IDS, ENTITY_TYPES, RELATION_IDS } from './schema';
import { COMPOSITION_PHRASINGS, RELATION_PHRASINGS } from './templates';
import type { WorldRates, WorldSizes } from './world';

/** The corpus is committed only below this size; above it, the training command regenerates it. */
export const CORPUS_COMMIT_LIMIT_BYTES = 15 * 1024 * 1024;

export interface BuildOptions {
  seed: number;
  sizes?: Partial<WorldSizes>;
  rates?: Partial<WorldRates>;
  selection?: Partial<EditSelection>;
}

export interface FileInfo {
  bytes: number;
  records?: number;
  sha256: string;
}

export interface Manifest {
  seed: number;
  command: string;
  sizes: WorldSizes;
  rates: WorldRates;
  entities: Record<string, number>;
  facts: Record<string, number>;
  compositions: Record<string, { first: string; second: string; train: number; heldOut: number }>;
  phrasings: Record<string, { statements: [number, number]; questions: [number, number] }>;
  corpus: ReturnType<typeof buildCorpus>['stats'] & { committed: boolean };
  editRequests: { test: Record<string, number>; train: Record<string, number> };
  files: Record<string, FileInfo>;
}

export function generateCommand(seed: number): string {
  return `npx tsx server/world/cli.ts generate --seed ${seed} --out data/world`;
}

function countBy<T>(items: readonly T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function buildWorldFiles(options: BuildOptions): { files: Map<string, string>; manifest: Manifest } {
  const world = generateWorld(options.seed, options.sizes, options.rates);
  const corpus = buildCorpus(world);
  const datasets: WorldDatasets = buildDatasets(world, options.selection);
  const files = new Map<string, string>();
  const records = new Map<string, number>();
  const putRecords = (path: string, rows: readonly unknown[]) => {
    files.set(path, jsonLinesArray(rows));
    records.set(path, rows.length);
  };

  files.set('graph.json', JSON.stringify(world.data) + '\n');
  files.set(
    'templates.json',
    JSON.stringify({ relations: RELATION_PHRASINGS, compositions: COMPOSITION_PHRASINGS }, null, 1) + '\n',
  );
  const text = corpusText(corpus);
  const corpusCommitted = Buffer.byteLength(text) <= CORPUS_COMMIT_LIMIT_BYTES;
  if (corpusCommitted) files.set('corpus.txt', text);
  for (const [name, rows] of Object.entries(datasets.files)) putRecords(`datasets/${name}`, rows);
  putRecords('probes/known-facts.json', knownFactProbes(world));
  putRecords('probes/two-hop.json', twoHopProbes(world));
  for (const seed of NEIGHBORHOOD_SEEDS) {
    putRecords(`probes/neighborhood-seed-${seed}.json`, neighborhoodProbes(world, datasets.requests.test, seed));
  }

  const fileInfo: Record<string, FileInfo> = {};
  for (const [path, content] of [...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const n = records.get(path);
    fileInfo[path] = { bytes: Buffer.byteLength(content), ...(n === undefined ? {} : { records: n }), sha256: sha256(content) };
  }
  const manifest: Manifest = {
    seed: options.seed,
    command: generateCommand(options.seed),
    sizes: world.data.sizes,
    rates: world.data.rates,
    entities: Object.fromEntries(ENTITY_TYPES.map((t) => [t, world.entitiesOf(t).length])),
    facts: Object.fromEntries(RELATION_IDS.map((r) => [r, world.facts(r).length])),
    compositions: Object.fromEntries(
      COMPOSITION_IDS.map((c) => {
        const splits = Object.values(world.data.compositionSplit[c]);
        return [
          c,
          {
            first: COMPOSITIONS[c].first,
            second: COMPOSITIONS[c].second,
            train: splits.filter((s) => s === 'train').length,
            heldOut: splits.filter((s) => s === 'heldOut').length,
          },
        ];
      }),
    ),
    phrasings: Object.fromEntries(
      [
        ...RELATION_IDS.map((r) => [r, RELATION_PHRASINGS[r]] as const),
        ...COMPOSITION_IDS.map((c) => [`composition:${c}`, COMPOSITION_PHRASINGS[c]] as const),
      ].map(([key, set]) => [
        key,
        {
          statements: [set.statements.train.length, set.statements.heldOut.length],
          questions: [set.questions.train.length, set.questions.heldOut.length],
        },
      ]),
    ),
    corpus: { ...corpus.stats, committed: corpusCommitted },
    editRequests: {
      test: countBy(datasets.requests.test, (r) => r.relation),
      train: countBy(datasets.requests.train, (r) => r.relation),
    },
    files: fileInfo,
  };
  files.set('manifest.json', JSON.stringify(manifest, null, 1) + '\n');
  files.set('README.md', renderReadme(manifest, world, datasets));
  return { files, manifest };
}
