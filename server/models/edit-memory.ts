/**
 * An edit memory: edits held beside the weights, as SERAC (Mitchell et al. 2022) keeps them. The
 * base weights stay as they are; an input that a router judges to be in the scope of a stored edit
 * is answered by the router's counterfactual model, given that edit; every other input is answered
 * by the model itself.
 *
 * The memory is plain data on the network, like the FFN slots (./ffn-slots.ts): deltas add and
 * remove groups of entries (one group per applied edit), and the language models' score, topK and
 * generate dispatch through `dispatch` below. Calls made with hooks are never routed: hooks address
 * this network's own forward pass (editing methods, traces), which a routed input does not run.
 */
import type { TargetScore, TokenProb } from './lm';

/** One stored edit: its prompt (subject filled in), its new target (with the leading space) and its subject. */
export interface MemoryEntry {
  prompt: string;
  target: string;
  subject?: string;
}

/** A routed input: the entry whose scope it fell in, and the input as given. */
export interface Routed {
  entry: MemoryEntry;
  prompt: string;
}

/** Decides which inputs fall in an edit's scope, and answers them (SERAC's classifier and counterfactual model). */
export interface MemoryRouter {
  /** Scope probability of each prompt for each entry: [prompts][entries]. */
  scope(entries: readonly MemoryEntry[], prompts: readonly string[]): Float32Array[];
  /** A prompt is routed to its most probable entry when that probability exceeds this. */
  readonly threshold: number;
  /** The counterfactual model's teacher-forced scores of targets after routed inputs. */
  score(items: readonly (Routed & { target: string })[]): TargetScore[];
  /** Its k most likely next tokens after routed inputs. */
  topK(items: readonly Routed[], k: number): TokenProb[][];
  /** Its greedy continuations of routed inputs. */
  generate(items: readonly Routed[], opts: { maxNewTokens?: number }): string[];
}

/** The entries one edit added, and the router that judges them. */
export interface MemoryGroup {
  entries: readonly MemoryEntry[];
  router: MemoryRouter;
}

/** Where a prompt went: the entry whose scope it fell in and its probability. */
export interface Route {
  router: MemoryRouter;
  entry: MemoryEntry;
  probability: number;
}

export class EditMemory {
  private groups: MemoryGroup[] = [];

  /** Entries over all groups. */
  get size(): number {
    return this.groups.reduce((n, g) => n + g.entries.length, 0);
  }

  /** The groups, oldest first. */
  all(): readonly MemoryGroup[] {
    return this.groups;
  }

  add(group: MemoryGroup): void {
    if (!group.entries.length) throw new Error('edit memory: a group needs at least one entry');
    this.groups = [...this.groups, group];
  }

  /** Removes this group (the same object that was added). */
  remove(group: MemoryGroup): void {
    const index = this.groups.indexOf(group);
    if (index < 0) throw new Error(`edit memory: this group of ${group.entries.length} entr${group.entries.length === 1 ? 'y' : 'ies'} was never added`);
    this.groups = this.groups.filter((_, i) => i !== index);
  }

  /** Puts back the groups as `all()` returned them earlier. */
  restore(groups: readonly MemoryGroup[]): void {
    this.groups = [...groups];
  }

  /**
   * Per prompt, the entry it is routed to, or null when no entry's scope probability passes its
   * router's threshold. Entries that share a router are judged in one call.
   */
  route(prompts: readonly string[]): (Route | null)[] {
    const best: (Route | null)[] = prompts.map(() => null);
    const byRouter = new Map<MemoryRouter, MemoryEntry[]>();
    for (const g of this.groups) byRouter.set(g.router, [...(byRouter.get(g.router) ?? []), ...g.entries]);
    for (const [router, entries] of byRouter) {
      router.scope(entries, prompts).forEach((row, i) => {
        let top = 0;
        for (let j = 1; j < row.length; j++) if (row[j]! > row[top]!) top = j;
        const p = row[top]!;
        if (p > router.threshold && p > (best[i]?.probability ?? -Infinity)) best[i] = { router, entry: entries[top]!, probability: p };
      });
    }
    return best;
  }

  /**
   * Answers each prompt through `own` (the model itself) or, when it is routed, through `routed`
   * (its router's counterfactual model); results come back in prompt order.
   */
  dispatch<T>(prompts: readonly string[], own: (indices: number[]) => T[], routed: (router: MemoryRouter, items: Routed[], indices: number[]) => T[]): T[] {
    const routes = this.route(prompts);
    const out = new Array<T>(prompts.length);
    const mine = routes.flatMap((r, i) => (r ? [] : [i]));
    if (mine.length) own(mine).forEach((v, k) => (out[mine[k]!] = v));
    const byRouter = new Map<MemoryRouter, number[]>();
    routes.forEach((r, i) => r && byRouter.set(r.router, [...(byRouter.get(r.router) ?? []), i]));
    for (const [router, indices] of byRouter) {
      routed(
        router,
        indices.map((i) => ({ entry: routes[i]!.entry, prompt: prompts[i]! })),
        indices,
      ).forEach((v, k) => (out[indices[k]!] = v));
    }
    return out;
  }
}
