/**
 * The automatic check of Yao et al. 2023's portability filter: does the model know the original
 * fact? It does when the true answer's first token is among its top-10 next tokens after the
 * original prompt. A model whose vocabulary does not cover the dataset's language (the world
 * model on real CounterFact) mostly "does not know": a real result, reported as is.
 */
import type { KnowledgeCheck, ReviewItem } from '../../lib/api/review';
import type { ModelHub } from '../backend/hub';
import { HubError } from '../backend/hub';

/** How many next tokens the answer's first token may rank among (the paper's top-10). */
export const CHECK_TOP_K = 10;

export async function checkKnowledge(hub: ModelHub, model: string, item: Pick<ReviewItem, 'prompt' | 'trueAnswer'>, now = new Date()): Promise<KnowledgeCheck> {
  const lm = await hub.load(model);
  // The answer as it continues the prompt: after a space, as every prompt here ends in a word or "?".
  const answerIds = lm.tokenizer.encode(` ${item.trueAnswer.trim()}`, { addSpecialTokens: false }).ids;
  const first = answerIds[0];
  if (first === undefined) throw new HubError(400, `The true answer ${JSON.stringify(item.trueAnswer)} has no tokens`);
  const { tokens } = await hub.predict({ model, prompt: item.prompt, k: CHECK_TOP_K });
  const at = tokens.findIndex((t) => t.id === first);
  return {
    model,
    knows: at >= 0,
    rank: at >= 0 ? at + 1 : null,
    answerToken: lm.tokenizer.decode([first]),
    top: tokens.map((t) => ({ token: t.token, prob: t.prob })),
    at: now.toISOString(),
  };
}
