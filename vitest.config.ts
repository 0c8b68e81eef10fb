import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    alias: { '@': fileURLToPath(new URL('./', import.meta.url)) },
  },
  test: {
    environment: 'node',
    // Jobs, reviews and saved edits of code that uses the server's instances go to a fresh folder, never .locus/.
    env: { LOCUS_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'locus-vitest-')) },
    include: ['server/**/*.test.ts', 'lib/**/*.test.ts', 'tests/**/*.test.ts', 'components/**/*.test.ts'],
    // Engine tests run real numeric kernels on CPU; some take tens of seconds.
    testTimeout: 60_000,
    // Keeps `vitest run` green while a folder is still empty of tests.
    passWithNoTests: true,
  },
});
