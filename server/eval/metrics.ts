/**
 * Metrics as EasyEdit computes them (zjunlp/EasyEdit easyeditor/evaluate/evaluate_utils.py), plus
 * CounterFact's probability scores (kmeng01/rome experiments/py/eval_utils_counterfact.py):
 * - token accuracy: prompt + target teacher-forced, mean over target tokens of
 *   [argmax at that position == the target token] (reliability, generality, portability);
 * - locality: share of (locality prompt + ground truth) positions whose post-edit argmax equals the
 *   pre-edit argmax, so the pre-edit argmaxes are taken before the edit;
 * - efficacy / paraphrase / neighbourhood: share of prompts where the expected object has the
 *   higher probability, p = exp(mean log-prob per target token) as ROME compares them.
 * One deviation: the target is tokenised on its own and appended to the prompt's tokens (ROME's and
 * LanguageModel.score's convention), where EasyEdit tokenises prompt + " " + target together.
 */
import type { CaseMetrics, EvalCase, ProbabilityScore } from '../../lib/eval';
import { mean } from '../../lib/eval';
import type { EditableLM } from '../models/editable';
import type { TargetScore } from '../models/lm';

/** The per-token facts a metric needs from a teacher-forced score. */
export type TokenScores = Pick<TargetScore, 'tokens'>;

/** Mean over target tokens of [argmax == target token]. */
export function tokenAccuracy(score: TokenScores): number {
  if (!score.tokens.length) throw new Error('tokenAccuracy: a target with no tokens');
  return score.tokens.filter((t) => t.argmaxId === t.id).length / score.tokens.length;
}

/** Share of positions where two argmax sequences agree (the locality of one prompt). */
export function argmaxAgreement(pre: readonly number[], post: readonly number[]): number {
  if (pre.length !== post.length || !pre.length) throw new Error(`argmaxAgreement: ${pre.length} pre-edit vs ${post.length} post-edit positions`);
  return pre.filter((id, i) => id === post[i]).length / pre.length;
}

/** Mean log-probability per target token (ROME normalises by length before comparing). */
export function meanLogProb(score: TokenScores): number {
  return score.tokens.reduce((s, t) => s + t.logProb, 0) / score.tokens.length;
}

/** Share of prompts where `expected` beats `other`, and the mean probability margin. */
export function probabilityScore(expected: readonly TokenScores[], other: readonly TokenScores[]): ProbabilityScore {
  if (expected.length !== other.length || !expected.length) throw new Error(`probabilityScore: ${expected.length} vs ${other.length} scores`);
  const margins = expected.map((e, i) => ({ e: meanLogProb(e), o: meanLogProb(other[i]!) }));
  return {
    score: margins.filter((m) => m.e > m.o).length / margins.length,
    magnitude: mean(margins.map((m) => Math.exp(m.e) - Math.exp(m.o)))!,
  };
}

type Pair = { prompt: string; target: string };

/** Every (prompt, target) a case is scored on, by role. */
export function casePairs(c: EvalCase): Record<'rewrite' | 'generality' | 'locality' | 'portability' | 'rewriteTrue' | 'generalityTrue' | 'neighbourNew' | 'neighbourTrue', Pair[]> {
  const { targetNew, targetTrue } = c.request;
  const hasTrue = targetTrue !== undefined;
  const neighbours = hasTrue ? (c.neighbourhoodPrompts ?? []) : [];
  return {
    rewrite: c.rewritePrompts.map((prompt) => ({ prompt, target: targetNew })),
    generality: c.generality,
    locality: c.locality.map(({ prompt, groundTruth }) => ({ prompt, target: groundTruth })),
    portability: c.portability,
    rewriteTrue: hasTrue ? c.rewritePrompts.map((prompt) => ({ prompt, target: targetTrue })) : [],
    generalityTrue: hasTrue ? c.generality.map(({ prompt }) => ({ prompt, target: targetTrue })) : [],
    neighbourNew: neighbours.map((prompt) => ({ prompt, target: targetNew })),
    neighbourTrue: neighbours.map((prompt) => ({ prompt, target: targetTrue! })),
  };
}

/**
 * Teacher-forced scores of many pairs, in padded batches of `batchSize`, each distinct pair once
 * (CounterFact's locality and neighbourhood pairs coincide), returned in the order given.
 */
export function scoreAll(lm: Pick<EditableLM, 'score'>, pairs: readonly Pair[], batchSize = 32): TargetScore[] {
  const key = (p: Pair) => `${p.prompt}\u0000${p.target}`;
  const unique = new Map<string, Pair>();
  for (const p of pairs) unique.set(key(p), p);
  // Similar lengths share a batch, so little of each forward pass is padding.
  const list = [...unique.values()].sort((a, b) => a.prompt.length + a.target.length - (b.prompt.length + b.target.length));
  const scored = new Map<string, TargetScore>();
  for (let i = 0; i < list.length; i += batchSize) {
    const chunk = list.slice(i, i + batchSize);
    lm.score(chunk).forEach((s, j) => scored.set(key(chunk[j]!), s));
  }
  return pairs.map((p) => scored.get(key(p))!);
}

/** Argmax ids at the target positions of each locality pair: the pre-edit reference. */
export type LocalityReference = number[][];

export interface Measured {
  metrics: CaseMetrics[];
  /** Per case, the argmax ids at each locality pair's target positions. */
  locality: LocalityReference[];
}

/**
 * Scores cases on the model as it is now. With `reference` (the pre-edit argmaxes from an earlier
 * call) locality is the agreement with it; without, locality is null.
 */
export function measureCases(lm: Pick<EditableLM, 'score'>, cases: readonly EvalCase[], reference?: readonly LocalityReference[], batchSize = 32): Measured {
  const plans = cases.map(casePairs);
  const flat: Pair[] = [];
  const spans = plans.map((plan) => {
    const span = {} as Record<keyof typeof plan, [number, number]>;
    for (const role of Object.keys(plan) as (keyof typeof plan)[]) {
      span[role] = [flat.length, flat.length + plan[role].length];
      flat.push(...plan[role]);
    }
    return span;
  });
  const scores = scoreAll(lm, flat, batchSize);
  const metrics: CaseMetrics[] = [];
  const locality: LocalityReference[] = [];
  spans.forEach((span, i) => {
    const get = (role: keyof typeof span) => scores.slice(...span[role]);
    const argmaxes = get('locality').map((s) => s.tokens.map((t) => t.argmaxId));
    locality.push(argmaxes);
    const ref = reference?.[i];
    const exact = (role: 'rewrite' | 'generality' | 'portability') => mean(get(role).map((s) => (tokenAccuracy(s) === 1 ? 1 : 0)));
    const m: CaseMetrics = {
      reliability: mean(get('rewrite').map(tokenAccuracy))!,
      generality: mean(get('generality').map(tokenAccuracy)),
      locality: ref ? mean(argmaxes.map((post, j) => argmaxAgreement(ref[j]!, post))) : null,
      portability: mean(get('portability').map(tokenAccuracy)),
      exactMatch: { reliability: exact('rewrite')!, generality: exact('generality'), portability: exact('portability') },
    };
    if (span.rewriteTrue[1] > span.rewriteTrue[0]) m.efficacy = probabilityScore(get('rewrite'), get('rewriteTrue'));
    if (span.generalityTrue[1] > span.generalityTrue[0]) m.paraphrase = probabilityScore(get('generality'), get('generalityTrue'));
    if (span.neighbourTrue[1] > span.neighbourTrue[0]) m.neighbourhood = probabilityScore(get('neighbourTrue'), get('neighbourNew'));
    metrics.push(m);
  });
  return { metrics, locality };
}
