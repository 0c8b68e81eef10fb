import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelHub, WORLD_MODEL_DIR, WORLD_MODEL_ID } from '../backend/hub';
import { checkKnowledge, CHECK_TOP_K } from './check';

const probes = JSON.parse(readFileSync(path.resolve('data/world/probes/known-facts.json'), 'utf8')) as { prompt: string; answer: string; phrasing: string }[];
const fact = probes.find((p) => p.phrasing === 'train')!;

describe('checkKnowledge (the world model)', () => {
  const hub = new ModelHub([{ id: WORLD_MODEL_ID, label: 'World', description: '', location: path.resolve(WORLD_MODEL_DIR) }]);

  it('knows a trained world fact: its answer is the top next token', async () => {
    const check = await checkKnowledge(hub, WORLD_MODEL_ID, { prompt: fact.prompt, trueAnswer: fact.answer });
    expect(check).toMatchObject({ model: WORLD_MODEL_ID, knows: true, rank: 1 });
    expect(check.answerToken.trim().length).toBeGreaterThan(0);
    expect(check.top).toHaveLength(CHECK_TOP_K);
  });

  it('reports "does not know" with no rank when the answer is not in the top 10', async () => {
    // An "answer" the model ranks below the top 10: a whole-word token from its ranks 11 to 50.
    const { tokens } = await hub.predict({ model: WORLD_MODEL_ID, prompt: fact.prompt, k: 50 });
    const outside = tokens.slice(CHECK_TOP_K).find((t) => /^ [A-Za-z]{3,}$/.test(t.token))!;
    const check = await checkKnowledge(hub, WORLD_MODEL_ID, { prompt: fact.prompt, trueAnswer: outside.token.trim() });
    expect(check).toMatchObject({ knows: false, rank: null, answerToken: outside.token });
  });
});
