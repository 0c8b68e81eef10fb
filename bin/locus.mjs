#!/usr/bin/env node
// `npx locus ...`: the command line is TypeScript (server/cli/index.ts); tsx compiles it on the fly.
import { register } from 'tsx/esm/api';

register();
await import('../server/cli/index.ts');
