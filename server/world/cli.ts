/**
 * The world generator's command line.
 *
 *   npx tsx server/world/cli.ts generate --seed 1 --out data/world [--persons 2000 ...]
 *
 * Writes graph.json, templates.json, corpus.txt, datasets/, probes/, manifest.json and README.md
 * under --out, and prints a summary. Size flags (--countries, --languages, --cities, --companies,
 * --universities, --clubs, --persons) override the defaults of server/world/graph.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildWorldFiles } from './build';
import type { WorldSizes } from './world';

const SIZE_FLAGS: (keyof WorldSizes)[] = [
  'countries',
  'languages',
  'cities',
  'companies',
  'universities',
  'clubs',
  'persons',
];

function usage(): never {
  process.stderr.write(
    'usage: npx tsx server/world/cli.ts generate --seed <int> --out <dir> [--persons <int> ...]\n',
  );
  process.exit(2);
}

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new Error(`--${name} must be an integer, got "${value}"`);
  return n;
}

function main(argv: string[]): void {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      seed: { type: 'string', default: '1' },
      out: { type: 'string', default: 'data/world' },
      ...Object.fromEntries(SIZE_FLAGS.map((f) => [f, { type: 'string' as const }])),
    },
  });
  if (positionals[0] !== 'generate') usage();
  const seed = integer('seed', values.seed) ?? 1;
  const sizes: Partial<WorldSizes> = {};
  for (const flag of SIZE_FLAGS) {
    const n = integer(flag, (values as Record<string, string | undefined>)[flag]);
    if (n !== undefined) sizes[flag] = n;
  }
  const out = values.out ?? 'data/world';
  const { files, manifest } = buildWorldFiles({ seed, sizes });
  for (const [path, content] of files) {
    const full = join(out, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
  const lines = [
    `wrote ${files.size} files to ${out}`,
    `entities ${JSON.stringify(manifest.entities)}`,
    `facts ${JSON.stringify(manifest.facts)}`,
    `corpus ${manifest.corpus.lines} lines, ${manifest.corpus.characters} characters${manifest.corpus.committed ? '' : ' (not written: over the size limit)'}`,
    ...Object.entries(manifest.files).map(
      ([p, f]) => `  ${p}: ${f.bytes} bytes${f.records === undefined ? '' : `, ${f.records} records`}`,
    ),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

main(process.argv.slice(2));
