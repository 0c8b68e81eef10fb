import { ModelHub } from './hub';

/**
 * The server's one model hub: the only process-level state in the studio, because loaded models
 * (tens to hundreds of MB of weights) must outlive a request. It sits on globalThis under a
 * registered Symbol rather than in a module variable because `next dev` re-evaluates modules on
 * every change, and each copy would load the models again; route handlers bundled into different
 * chunks by `next build` share it too.
 */
const HUB_KEY = Symbol.for('locus.modelHub');

type WithHub = typeof globalThis & { [HUB_KEY]?: ModelHub };

export function getHub(): ModelHub {
  const g = globalThis as WithHub;
  g[HUB_KEY] ??= ModelHub.withDefaults();
  return g[HUB_KEY];
}
