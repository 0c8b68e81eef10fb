import { captureInto, Hooks } from '../../models/hooks';
import type { LanguageModel } from '../../models/lm';
import type { StatsSource } from '../stats/second-moment';

/**
 * T-Patcher's memory: FFN inputs (mlp_in) at `layer` for the tokens of unrelated text, [M, D]
 * row-major. The text is the model's statistics text (the world corpus; editing-dataset sentences
 * for a pretrained model), read in a fixed spread-out order so the memory covers the whole text,
 * not its first lines; texts naming an edited subject are left out, since the patch must fire
 * there. The reference builds it from its training split the same way (every token position).
 */
export async function memoryInputs(lm: LanguageModel, source: StatsSource, layer: number, tokens: number, excludeSubjects: readonly string[]): Promise<{ values: Float32Array; rows: number }> {
  const engine = lm.engine;
  const hidden = lm.network.spec.hidden;
  const maxLength = Math.min(64, lm.network.spec.maxPositions);
  const texts = [...source.texts()];
  if (!texts.length) throw new Error(`T-Patcher: the memory text "${source.name}" is empty`);
  const picked: number[][] = [];
  let total = 0;
  // golden-ratio stride: a deterministic order that visits the text evenly
  for (let i = 0; i < texts.length && total < tokens; i++) {
    const text = texts[Math.floor(((i * 0.6180339887498949) % 1) * texts.length)]!;
    if (excludeSubjects.some((s) => s && text.includes(s))) continue;
    const ids = lm.encode(text).slice(0, Math.min(maxLength, tokens - total));
    if (!ids.length) continue;
    picked.push(ids);
    total += ids.length;
  }
  if (!total) throw new Error(`T-Patcher: no memory text left in "${source.name}" once texts naming the edited subjects are removed`);
  const values = new Float32Array(total * hidden);
  let row = 0;
  for (let start = 0; start < picked.length; start += 32) {
    const seqs = picked.slice(start, start + 32);
    engine.noGrad(() =>
      engine.tidy(() => {
        const captured = new Map();
        const { mask } = lm.runToLayer(seqs, layer, new Hooks().on('mlp_in', layer, captureInto(captured)));
        const mlpIn = captured.get(`mlp_in.${layer}`)!;
        const flat = mlpIn.valuesSync(); // [B, T, D]
        mlpIn.dispose();
        const width = mask[0]!.length;
        mask.forEach((m, b) =>
          m.forEach((real, t) => {
            if (real) values.set(flat.subarray((b * width + t) * hidden, (b * width + t + 1) * hidden), row++ * hidden);
          }),
        );
      }),
    );
    await new Promise((r) => setImmediate(r));
  }
  return { values, rows: row };
}
