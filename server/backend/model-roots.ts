/**
 * Model folders a request may name by path: `path:<relative path>` under one of the roots in
 * LOCUS_MODEL_ROOTS (colon-separated). Only what lies inside a root can load: absolute paths, ".."
 * and symbolic links that lead out of the root are refused, so a client cannot make the backend read
 * arbitrary files.
 */
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';

export const PATH_PREFIX = 'path:';

export class ModelPathError extends Error {
  override name = 'ModelPathError';
  constructor(
    readonly status: 400 | 403 | 404,
    message: string,
  ) {
    super(message);
  }
}

export function modelRoots(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.LOCUS_MODEL_ROOTS ?? '')
    .split(':')
    .filter(Boolean)
    .map((root) => path.resolve(/*turbopackIgnore: true*/ root));
}

const inside = (root: string, target: string) => {
  const rel = path.relative(root, target);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
};

/** The real location of `path:<rel>` inside a root; ModelPathError with the HTTP status otherwise. */
export function resolveModelPath(id: string, roots: readonly string[]): string {
  const rel = id.slice(PATH_PREFIX.length);
  if (!roots.length) throw new ModelPathError(403, 'This server loads no models by path (LOCUS_MODEL_ROOTS is not set)');
  if (!rel || path.isAbsolute(rel) || rel.split(/[\\/]/).includes('..') || rel.includes('\0')) {
    throw new ModelPathError(400, `Model paths are relative to a model root, without "..": got ${JSON.stringify(rel)}`);
  }
  for (const root of roots) {
    const candidate = path.resolve(/*turbopackIgnore: true*/ root, rel);
    if (!inside(root, candidate) || !existsSync(candidate)) continue;
    // A symbolic link inside the root may point outside it.
    if (!inside(realpathSync(root), realpathSync(candidate))) throw new ModelPathError(403, `${rel} leads outside the model roots`);
    return candidate;
  }
  throw new ModelPathError(404, `No model ${JSON.stringify(rel)} under the model roots`);
}
