/**
 * What the /api/review routes do, one function each, over a store and a hub the caller passes in
 * (tests make their own; the routes use the server's instances).
 */
import type { z } from 'zod';
import type { CheckRequest, CheckResponse, ImportRequest, ImportSummary, NextQuery, NextResponse } from '../../lib/api/review';
import type { ModelHub } from '../backend/hub';
import { checkKnowledge } from './check';
import { parsePortabilityFile } from './parse';
import { readSource } from './sources';
import type { ReviewStore } from './store';

export async function importFile(store: ReviewStore, input: ImportRequest): Promise<ImportSummary> {
  if ('source' in input) return store.createImport(input.source, parsePortabilityFile(await readSource(input.source)));
  return store.createImport(input.name, parsePortabilityFile(input.data));
}

export function nextItem(store: ReviewStore, query: z.infer<typeof NextQuery>): NextResponse {
  const item = store.nextItem(query.import, query.reviewer, query.after) ?? null;
  return {
    item,
    reviews: item ? store.reviews(query.import, item.index).filter((r) => r.reviewer === query.reviewer) : [],
    check: item ? store.latestCheck(query.import, item.index) : null,
    progress: store.progress(query.import, query.reviewer),
  };
}

/** Runs the knowledge check on each item in turn (one model, one forward pass each) and stores it. */
export async function runChecks(store: ReviewStore, hub: ModelHub, input: z.infer<typeof CheckRequest>): Promise<CheckResponse> {
  const results: CheckResponse['results'] = [];
  for (const index of input.items) {
    const item = store.item(input.import, index);
    const check = await checkKnowledge(hub, input.model, item);
    store.saveCheck(input.import, index, check);
    results.push({ item: index, check });
  }
  return { results, progress: store.progress(input.import) };
}

/** A download name for an export: the imported name with ".accepted" before ".json". */
export function exportFileName(name: string, status: string): string {
  const base = name.replace(/\.json$/i, '').replace(/[^A-Za-z0-9._-]+/g, '_') || 'review';
  return `${base}.${status}.json`;
}
