import type { EditRequest } from '../../../lib/editing/request';
import { fillPrompt } from '../../../lib/editing/request';
import type { EditContext, EditOutcome, Editor, MemoryDelta } from '../editor';
import { MEMORY_PARAM, throwIfCancelled } from '../editor';
import { loadTrained } from '../trained/load';
import { UntrainedEditorError } from '../trained/store';
import { SERAC_ARCHITECTURE, SeracHparams, seracDefaults } from './hparams';
import { SeracNetworks, type SeracRouter } from './networks';

/** The trained networks for the context's model, loaded once per version of the file, and their router. */
async function routerOf(ctx: EditContext, hp: SeracHparams): Promise<{ router: SeracRouter; file: string }> {
  const nets = await loadTrained(ctx, 'serac', 'SERAC', hp, SERAC_ARCHITECTURE, (saved) => new SeracNetworks(ctx.lm.engine, ctx.lm.editSpec.hidden, { ...hp, ...(saved as object), layers: hp.layers }));
  return { router: nets.routerFor(ctx.lm, hp.threshold), file: ctx.trained!.file('serac', hp.layers) };
}

/**
 * SERAC: an edit is stored, not written into the weights. The requests become entries of the
 * model's edit memory (../../models/edit-memory.ts); from then on the model's predictions route each
 * input through the trained scope classifier, and inputs in an entry's scope are answered by the
 * counterfactual model given that entry (./networks.ts). Batchable: a batch is one group of
 * entries. Needs the trained networks (`npx locus train --method serac`).
 */
export const serac: Editor<typeof SeracHparams> = {
  name: 'SERAC',
  hparams: SeracHparams,
  defaults: seracDefaults,
  batchable: true,
  needs: { secondMoments: false, contextTemplates: false, trainedEditor: true },
  async apply(ctx: EditContext, requests: readonly EditRequest[], hp: SeracHparams): Promise<EditOutcome> {
    if (!requests.length) return { deltas: [], stats: {} };
    ctx.onProgress?.({ type: 'stage', stage: 'memory', detail: `${requests.length} request(s) into the edit memory` });
    const { router, file } = await routerOf(ctx, hp);
    throwIfCancelled(ctx.signal);
    const entries = requests.map((r) => {
      if (!r.targetNew.trim()) throw new Error('SERAC: the new target is empty');
      return { prompt: fillPrompt(r).text, target: r.targetNew, subject: r.subject };
    });
    router.remember(entries);
    const settings = { layers: hp.layers, heads: hp.heads, width: hp.width, gateHidden: hp.gateHidden, threshold: hp.threshold };
    const delta: MemoryDelta = { param: MEMORY_PARAM, kind: 'memory', method: 'serac', editor: file, settings, entries, router };
    return { deltas: [delta], stats: { entries: entries.length, threshold: hp.threshold, layer: hp.layers[0]! } };
  },
  async revive(ctx: EditContext, delta: MemoryDelta): Promise<void> {
    const parsed = SeracHparams.safeParse({ ...seracDefaults(ctx.lm), ...delta.settings });
    if (!parsed.success) throw new UntrainedEditorError(`SERAC: the saved edit's settings do not parse (${parsed.error.issues[0]?.message})`);
    delta.router = (await routerOf(ctx, parsed.data)).router;
  },
};
