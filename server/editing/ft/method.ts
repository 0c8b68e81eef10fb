import type { EditRequest } from '../../../lib/editing/request';
import type { LanguageModel } from '../../models/lm';
import type { EditContext, EditOutcome, Editor } from '../editor';
import { norm } from '../linalg';
import { FtHparams, ftDefaults } from './hparams';
import { fineTune } from './train';

/**
 * Fine-tuning of one MLP down/out projection on the edit requests, all in one loss (batchable).
 * FT-L: EasyEdit's "prompt_last" objective with an L∞ constraint ε = 5e-4; FT-M: teacher-forced NLL
 * over the target tokens only; FT: either objective with normConstraint null. Returns a dense ΔW;
 * the model is never modified (ΔW is added through a hook while training).
 */
function ftEditor(name: string, objective: FtHparams['objective']): Editor<typeof FtHparams> {
  return {
    name,
    hparams: FtHparams,
    defaults: (lm: LanguageModel) => ftDefaults(lm, objective),
    batchable: true,
    needs: { secondMoments: false, contextTemplates: false, trainedEditor: false },
    async apply(ctx: EditContext, requests: readonly EditRequest[], hp: FtHparams): Promise<EditOutcome> {
      if (!requests.length) return { deltas: [], stats: {} };
      ctx.onProgress?.({ type: 'stage', stage: 'fine-tune', detail: `layer ${hp.layer}, ${requests.length} request(s), ${hp.objective}` });
      const result = await fineTune(ctx, requests, hp);
      let maxAbs = 0;
      for (const v of result.delta) maxAbs = Math.max(maxAbs, Math.abs(v));
      return {
        deltas: [{ param: result.name, kind: 'dense', rows: result.shape[0]!, cols: result.shape[1]!, values: result.delta }],
        stats: { steps: result.steps, loss: result.loss, deltaNorm: norm(result.delta), deltaMaxAbs: maxAbs, layer: hp.layer },
      };
    },
  };
}

export const ftL = ftEditor('FT-L', 'prompt_last');
export const ftM = ftEditor('FT-M', 'target_new');
