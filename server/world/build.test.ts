import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildWorldFiles } from './build';
import type { Manifest } from './build';

const DATA = fileURLToPath(new URL('../../data/world/', import.meta.url));
const SMALL = { countries: 8, languages: 6, cities: 24, companies: 12, universities: 8, clubs: 8, persons: 200 };

describe('buildWorldFiles', () => {
  it('writes the same bytes for the same seed', () => {
    const a = buildWorldFiles({ seed: 5, sizes: SMALL, selection: { testCount: 40, trainCount: 60 } });
    const b = buildWorldFiles({ seed: 5, sizes: SMALL, selection: { testCount: 40, trainCount: 60 } });
    expect([...a.files.keys()]).toEqual([...b.files.keys()]);
    for (const [path, content] of a.files) expect(b.files.get(path), path).toBe(content);
    expect(a.files.get('corpus.txt')).not.toBe(buildWorldFiles({ seed: 6, sizes: SMALL }).files.get('corpus.txt'));
  });

  it.skipIf(!existsSync(`${DATA}manifest.json`))('matches the committed data/world files', () => {
    const committed = JSON.parse(readFileSync(`${DATA}manifest.json`, 'utf8')) as Manifest;
    const { files, manifest } = buildWorldFiles({ seed: committed.seed, sizes: committed.sizes });
    expect(manifest.files).toEqual(committed.files);
    for (const path of ['README.md', 'manifest.json']) {
      expect(files.get(path), `${path} is stale: rerun ${manifest.command}`).toBe(readFileSync(DATA + path, 'utf8'));
    }
  });
});
