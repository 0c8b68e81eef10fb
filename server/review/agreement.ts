/**
 * Agreement between reviewers: the share of multiply-reviewed items where every decision agrees,
 * and Cohen's kappa (Cohen 1960) for two reviewers on their common items:
 *   kappa = (p_o - p_e) / (1 - p_e),
 * p_o the observed share of agreeing items, p_e = sum over decisions of p_a(d) * p_b(d), the
 * agreement expected by chance from each reviewer's own decision rates.
 */
import type { Agreement, Decision } from '../../lib/api/review';

export interface KappaResult {
  items: number;
  observed: number;
  expected: number;
  /** null when p_e = 1 (both reviewers always gave one and the same decision): kappa is undefined. */
  value: number | null;
}

/** Cohen's kappa over paired decisions [reviewer a's, reviewer b's], one pair per common item. */
export function cohensKappa(pairs: readonly (readonly [Decision, Decision])[]): KappaResult {
  const n = pairs.length;
  if (n === 0) return { items: 0, observed: 0, expected: 0, value: null };
  const countA = new Map<Decision, number>();
  const countB = new Map<Decision, number>();
  let agree = 0;
  for (const [a, b] of pairs) {
    if (a === b) agree++;
    countA.set(a, (countA.get(a) ?? 0) + 1);
    countB.set(b, (countB.get(b) ?? 0) + 1);
  }
  const observed = agree / n;
  let expected = 0;
  for (const [decision, a] of countA) expected += (a / n) * ((countB.get(decision) ?? 0) / n);
  const value = expected >= 1 ? null : (observed - expected) / (1 - expected);
  return { items: n, observed, expected, value };
}

export interface DecisionRow {
  item: number;
  reviewer: string;
  decision: Decision;
}

/**
 * Agreement over an import's decisions. `reviewers` are in the order they first reviewed (the
 * kappa pair is the first two); `rows` hold each reviewer's one decision per item.
 */
export function agreement(reviewers: readonly string[], rows: readonly DecisionRow[]): Agreement {
  const byItem = new Map<number, Map<string, Decision>>();
  for (const row of rows) {
    let decisions = byItem.get(row.item);
    if (!decisions) byItem.set(row.item, (decisions = new Map()));
    decisions.set(row.reviewer, row.decision);
  }
  let shared = 0;
  let agreeing = 0;
  for (const decisions of byItem.values()) {
    if (decisions.size < 2) continue;
    shared++;
    if (new Set(decisions.values()).size === 1) agreeing++;
  }
  let kappa: Agreement['kappa'] = null;
  if (reviewers.length >= 2) {
    const [a, b] = reviewers as [string, string];
    const pairs: [Decision, Decision][] = [];
    for (const decisions of byItem.values()) {
      const da = decisions.get(a);
      const db = decisions.get(b);
      if (da && db) pairs.push([da, db]);
    }
    kappa = { a, b, ...cohensKappa(pairs) };
  }
  return { reviewers: [...reviewers], sharedItems: shared, allAgree: shared ? agreeing / shared : null, kappa };
}
