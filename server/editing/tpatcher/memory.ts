import { captureInto, Hooks } from '../../models/hooks';
import type { LanguageModel } from '../../models/lm';
import type { SecondMoments, StatsSource } from '../stats/second-moment';

/** FFN inputs of unrelated text, [rows, D] row-major, and the text each row comes from. */
export interface Memory {
  texts: string[];
  values: Float32Array;
  rows: number;
  textOf: Int32Array;
}

/**
 * T-Patcher's memory: FFN inputs (mlp_in) at `layer` for the tokens of unrelated text. The text is
 * the model's statistics text (the world corpus; editing-dataset sentences for a pretrained model),
 * read in a fixed spread-out order so the memory covers the whole text, not its first lines. The
 * reference builds it the same way from its training split (every token position). Computed once
 * per model, layer and size (cached on the statistics object: it costs as much as ~2,000 tokens of
 * forward passes); `memoryInputs` leaves out the texts naming an edited subject.
 */
export function memoryOf(lm: LanguageModel, stats: SecondMoments, layer: number, tokens: number): Promise<Memory> {
  return stats.derived(`tpatcher-memory:${layer}:${tokens}`, () => buildMemory(lm, stats.source, layer, tokens));
}

async function buildMemory(lm: LanguageModel, source: StatsSource, layer: number, tokens: number): Promise<Memory> {
  const engine = lm.engine;
  const hidden = lm.network.spec.hidden;
  const maxLength = Math.min(64, lm.network.spec.maxPositions);
  const all = [...source.texts()];
  if (!all.length) throw new Error(`T-Patcher: the memory text "${source.name}" is empty`);
  const texts: string[] = [];
  const picked: number[][] = [];
  let total = 0;
  // golden-ratio stride: a deterministic order that visits the text evenly
  for (let i = 0; i < all.length && total < tokens; i++) {
    const text = all[Math.floor(((i * 0.6180339887498949) % 1) * all.length)]!;
    const ids = lm.encode(text).slice(0, Math.min(maxLength, tokens - total));
    if (!ids.length) continue;
    texts.push(text);
    picked.push(ids);
    total += ids.length;
  }
  const values = new Float32Array(total * hidden);
  const textOf = new Int32Array(total);
  let row = 0;
  for (let start = 0; start < picked.length; start += 32) {
    const seqs = picked.slice(start, start + 32);
    engine.noGrad(() =>
      engine.tidy(() => {
        const captured = new Map();
        const { mask } = lm.runToLayer(seqs, layer, new Hooks().on('mlp_in', layer, captureInto(captured)));
        const mlpIn = captured.get(`mlp_in.${layer}`)!;
        const flat = mlpIn.valuesSync() as Float32Array; // [B, T, D]
        mlpIn.dispose();
        const width = mask[0]!.length;
        mask.forEach((m, b) =>
          m.forEach((real, t) => {
            if (!real) return;
            values.set(flat.subarray((b * width + t) * hidden, (b * width + t + 1) * hidden), row * hidden);
            textOf[row++] = start + b;
          }),
        );
      }),
    );
    await new Promise((r) => setImmediate(r));
  }
  return { texts, values, rows: row, textOf };
}

/** The memory's rows [M, D] without the texts that name one of `subjects` (the patch must fire there). */
export async function memoryInputs(lm: LanguageModel, stats: SecondMoments, layer: number, tokens: number, subjects: readonly string[]): Promise<{ values: Float32Array; rows: number }> {
  const memory = await memoryOf(lm, stats, layer, tokens);
  const hidden = lm.network.spec.hidden;
  const excluded = memory.texts.map((text) => subjects.some((s) => s && text.includes(s)));
  if (!excluded.some(Boolean)) return { values: memory.values, rows: memory.rows };
  const keep = Array.from(memory.textOf.keys()).filter((row) => !excluded[memory.textOf[row]!]);
  if (!keep.length) throw new Error(`T-Patcher: no memory text left in "${stats.source.name}" once texts naming the edited subjects are removed`);
  const values = new Float32Array(keep.length * hidden);
  keep.forEach((row, i) => values.set(memory.values.subarray(row * hidden, (row + 1) * hidden), i * hidden));
  return { values, rows: keep.length };
}
