import { describe, expect, it } from 'vitest';
import { average, type CaseMetrics } from '../../lib/eval';
import type { LanguageModel } from '../models/lm';
import { argmaxAgreement, casePairs, meanLogProb, measureCases, probabilityScore, tokenAccuracy, type TokenScores } from './metrics';

/** A teacher-forced score from (target id, argmax id, log-prob) triples. */
const scored = (...tokens: [id: number, argmaxId: number, logProb: number][]): TokenScores => ({
  tokens: tokens.map(([id, argmaxId, logProb]) => ({ id, argmaxId, logProb, text: '' })),
});

describe('token accuracy', () => {
  it('is the share of target tokens the model predicts at their position', () => {
    expect(tokenAccuracy(scored([5, 5, -0.1], [7, 2, -3], [9, 9, -0.2], [4, 1, -2]))).toBe(0.5);
    expect(tokenAccuracy(scored([5, 5, -0.1]))).toBe(1);
    expect(tokenAccuracy(scored([5, 6, -0.1]))).toBe(0);
  });

  it('refuses a target without tokens', () => {
    expect(() => tokenAccuracy({ tokens: [] })).toThrow(/no tokens/);
  });
});

describe('locality', () => {
  it('is the share of positions whose argmax kept its pre-edit value', () => {
    expect(argmaxAgreement([1, 2, 3, 4], [1, 2, 9, 4])).toBe(0.75);
    expect(argmaxAgreement([1], [1])).toBe(1);
  });

  it('refuses sequences of different lengths', () => {
    expect(() => argmaxAgreement([1, 2], [1])).toThrow(/2 pre-edit vs 1 post-edit/);
  });
});

describe("CounterFact's probability scores", () => {
  it('compare mean log-probabilities per token, not sums', () => {
    // new: two tokens at log 0.5 each (sum lower than true's single token, mean higher)
    const pNew = scored([1, 1, Math.log(0.5)], [2, 2, Math.log(0.5)]);
    const pTrue = scored([3, 3, Math.log(0.4)]);
    expect(meanLogProb(pNew)).toBeCloseTo(Math.log(0.5));
    const s = probabilityScore([pNew], [pTrue]);
    expect(s.score).toBe(1);
    expect(s.magnitude).toBeCloseTo(0.1);
  });

  it('average wins and margins over prompts', () => {
    const a = [scored([1, 1, Math.log(0.6)]), scored([1, 1, Math.log(0.2)])];
    const b = [scored([2, 2, Math.log(0.3)]), scored([2, 2, Math.log(0.4)])];
    const s = probabilityScore(a, b);
    expect(s.score).toBe(0.5);
    expect(s.magnitude).toBeCloseTo((0.3 - 0.2) / 2);
  });
});

describe('averages over cases', () => {
  it('skip cases without a metric and report null when none has it', () => {
    const m: CaseMetrics[] = [
      { reliability: 1, generality: 0.5, locality: 1, portability: null, exactMatch: { reliability: 1, generality: 0, portability: null } },
      { reliability: 0.5, generality: null, locality: 0.8, portability: null, exactMatch: { reliability: 0, generality: null, portability: null }, efficacy: { score: 1, magnitude: 0.4 } },
    ];
    const a = average(m);
    expect(a).toMatchObject({ cases: 2, reliability: 0.75, generality: 0.5, portability: null, efficacy: { score: 1, magnitude: 0.4 }, neighbourhood: null });
    expect(a.exactMatch).toEqual({ reliability: 0.5, generality: 0, portability: null });
    expect(a.locality).toBeCloseTo(0.9);
  });
});

describe('the pairs a case is scored on', () => {
  it('pairs rewrite prompts and paraphrases with both targets, neighbours with both, when target_true is known', () => {
    const pairs = casePairs({
      id: 'c',
      request: { prompt: '{} was born in', subject: 'Ana', targetNew: ' Paris', targetTrue: ' Rome' },
      rewritePrompts: ['Ana was born in'],
      generality: [{ prompt: 'Ana is from', target: ' Paris' }],
      locality: [{ prompt: 'Bo was born in', groundTruth: ' Rome' }],
      portability: [],
      neighbourhoodPrompts: ['Bo was born in'],
    });
    expect(pairs.rewriteTrue).toEqual([{ prompt: 'Ana was born in', target: ' Rome' }]);
    expect(pairs.generalityTrue).toEqual([{ prompt: 'Ana is from', target: ' Rome' }]);
    expect(pairs.neighbourNew).toEqual([{ prompt: 'Bo was born in', target: ' Paris' }]);
    expect(pairs.locality).toEqual(pairs.neighbourTrue);
  });
});

describe('measureCases', () => {
  const evalCase = {
    id: 'c',
    request: { prompt: '{} was born in', subject: 'Ana', targetNew: ' Paris', targetTrue: ' Rome' },
    rewritePrompts: ['Ana was born in'],
    generality: [{ prompt: 'Ana is from', target: ' Paris' }],
    locality: [{ prompt: 'Bo was born in', groundTruth: ' Rome' }],
    portability: [],
    neighbourhoodPrompts: ['Bo was born in'],
  };
  /** A fake model: every target is two tokens; `argmaxes` says what it predicts per (prompt, target). */
  const fake = (argmaxes: Record<string, [number, number]>, calls: string[][] = []) =>
    ({
      score: (pairs: { prompt: string; target: string }[]) => {
        calls.push(pairs.map((p) => p.prompt + '|' + p.target));
        return pairs.map((p) => {
          const ids = p.target === ' Paris' ? [1, 2] : [3, 4];
          const pred = argmaxes[p.prompt + '|' + p.target] ?? [0, 0];
          const tokens = ids.map((id, j) => ({ id, text: '', argmaxId: pred[j]!, logProb: pred[j] === id ? -0.1 : -3 }));
          return { tokens, logProb: tokens.reduce((a, t) => a + t.logProb, 0) };
        });
      },
    }) as unknown as LanguageModel;

  it('scores each distinct pair once and compares locality with the reference argmaxes', () => {
    const calls: string[][] = [];
    const pre = measureCases(fake({ 'Bo was born in| Rome': [3, 4] }, calls), [evalCase]);
    expect(calls.flat()).toHaveLength(new Set(calls.flat()).size);
    expect(pre.locality).toEqual([[[3, 4]]]);
    expect(pre.metrics[0]).toMatchObject({ reliability: 0, generality: 0, locality: null, portability: null, efficacy: { score: 0 } });
    const post = measureCases(fake({ 'Ana was born in| Paris': [1, 2], 'Ana is from| Paris': [1, 9], 'Bo was born in| Rome': [3, 7] }), [evalCase], pre.locality);
    expect(post.metrics[0]).toMatchObject({ reliability: 1, generality: 0.5, locality: 0.5, efficacy: { score: 1 }, neighbourhood: { score: 1 } });
    expect(post.metrics[0]!.exactMatch).toEqual({ reliability: 1, generality: 0, portability: null });
  });
});
