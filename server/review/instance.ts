import { reviewDbPath, ReviewStore } from './store';

/**
 * The server's one review store, on globalThis under a registered Symbol like the model hub
 * (server/backend/instance.ts): `next dev` re-evaluates modules, and route chunks share it.
 */
const STORE_KEY = Symbol.for('locus.reviewStore');

type WithStore = typeof globalThis & { [STORE_KEY]?: ReviewStore };

export function getReviewStore(): ReviewStore {
  const g = globalThis as WithStore;
  g[STORE_KEY] ??= new ReviewStore(reviewDbPath());
  return g[STORE_KEY];
}
