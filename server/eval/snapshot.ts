/** What the studio shows before and after an edit: p(target) of each probe and a greedy continuation. */
import type { EditProbes, ProbeScore, ProbeSnapshot } from '../../lib/api/jobs';
import { fillPrompt, type EditRequest } from '../../lib/editing/request';
import type { EditableLM } from '../models/editable';
import { scoreAll } from './metrics';

/** Tokens generated after the edit prompt. */
export const SNAPSHOT_GENERATION_TOKENS = 12;

export function probeSnapshot(lm: Pick<EditableLM, 'score' | 'generate'>, request: EditRequest, probes: EditProbes): ProbeSnapshot {
  const prompt = fillPrompt(request).text;
  const pairs = [
    { prompt, target: request.targetNew },
    ...(request.targetTrue ? [{ prompt, target: request.targetTrue }] : []),
    ...probes.paraphrases.map((p) => ({ prompt: p, target: request.targetNew })),
    ...probes.neighborhood,
    ...probes.portability,
  ];
  const scored = scoreAll(lm, pairs).map(
    (s, i): ProbeScore => ({
      prompt: pairs[i]!.prompt,
      target: pairs[i]!.target,
      p: Math.exp(s.logProb),
      argmaxMatches: s.tokens.every((t) => t.argmaxId === t.id),
    }),
  );
  let next = 0;
  const take = (n: number) => scored.slice(next, (next += n));
  const [targetNew] = take(1);
  const targetTrue = request.targetTrue ? take(1)[0]! : null;
  return {
    targetNew: targetNew!,
    targetTrue,
    paraphrases: take(probes.paraphrases.length),
    neighborhood: take(probes.neighborhood.length),
    portability: take(probes.portability.length),
    generation: lm.generate([prompt], { maxNewTokens: SNAPSHOT_GENERATION_TOKENS })[0]!,
  };
}
