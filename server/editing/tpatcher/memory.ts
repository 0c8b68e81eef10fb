import { captureInto, Hooks } from '../../models/hooks';
import type { EditableLM, PromptIds } from '../../models/editable';
import type { SecondMoments, StatsSource } from '../stats/second-moment';

/** FFN inputs of unrelated text, [rows, D] row-major, and the text each row comes from. */
export interface Memory {
  texts: string[];
  values: Float32Array;
  rows: number;
  textOf: Int32Array;
}

/**
 * T-Patcher's memory: FFN inputs (mlp_in) at `layer` of the edit stack for the positions of
 * unrelated text (an encoder-decoder model reads it as ../../models/editable.ts frames text: its
 * decoder positions). The text is
 * the model's statistics text (the world corpus; editing-dataset sentences for a pretrained model),
 * read in a fixed spread-out order so the memory covers the whole text, not its first lines. The
 * reference builds it the same way from its training split (every token position). Computed once
 * per model, layer and size (cached on the statistics object: it costs as much as ~2,000 tokens of
 * forward passes); `memoryInputs` leaves out the texts naming an edited subject.
 */
export function memoryOf(lm: EditableLM, stats: SecondMoments, layer: number, tokens: number): Promise<Memory> {
  return stats.derived(`tpatcher-memory:${layer}:${tokens}`, () => buildMemory(lm, stats.source, layer, tokens));
}

async function buildMemory(lm: EditableLM, source: StatsSource, layer: number, tokens: number): Promise<Memory> {
  const engine = lm.engine;
  const hidden = lm.editSpec.hidden;
  const maxLength = Math.min(64, lm.editSpec.maxPositions);
  const all = [...source.texts()];
  if (!all.length) throw new Error(`T-Patcher: the memory text "${source.name}" is empty`);
  const texts: string[] = [];
  const picked: PromptIds[] = [];
  let total = 0;
  // golden-ratio stride: a deterministic order that visits the text evenly
  for (let i = 0; i < all.length && total < tokens; i++) {
    const text = all[Math.floor(((i * 0.6180339887498949) % 1) * all.length)]!;
    const seq = truncated(lm, lm.textIds(text), Math.min(maxLength, tokens - total));
    if (!seq) continue;
    texts.push(text);
    picked.push(seq);
    total += lm.layout([seq]).width;
  }
  const values = new Float32Array(total * hidden);
  const textOf = new Int32Array(total);
  let row = 0;
  for (let start = 0; start < picked.length; start += 32) {
    const seqs = picked.slice(start, start + 32);
    engine.noGrad(() =>
      engine.tidy(() => {
        const captured = new Map();
        const { mask } = lm.stackToLayer(seqs, layer, new Hooks().on('mlp_in', layer, captureInto(captured)));
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

/** The text cut to `positions` positions of the edit stack; null when none is left. */
function truncated(lm: EditableLM, seq: PromptIds, positions: number): PromptIds | null {
  if (positions <= 0 || !seq.prompt.length) return null;
  // positions ahead of the continuation: the prompt's (decoder-only) or the start token (encoder-decoder)
  const before = lm.layout([seq]).width - seq.continuation.length;
  if (positions <= before) return seq.continuation.length ? null : { prompt: seq.prompt.slice(0, positions), continuation: [] };
  return { prompt: seq.prompt, continuation: seq.continuation.slice(0, positions - before) };
}

/** The memory's rows [M, D] without the texts that name one of `subjects` (the patch must fire there). */
export async function memoryInputs(lm: EditableLM, stats: SecondMoments, layer: number, tokens: number, subjects: readonly string[]): Promise<{ values: Float32Array; rows: number }> {
  const memory = await memoryOf(lm, stats, layer, tokens);
  const hidden = lm.editSpec.hidden;
  const excluded = memory.texts.map((text) => subjects.some((s) => s && text.includes(s)));
  if (!excluded.some(Boolean)) return { values: memory.values, rows: memory.rows };
  const keep = Array.from(memory.textOf.keys()).filter((row) => !excluded[memory.textOf[row]!]);
  if (!keep.length) throw new Error(`T-Patcher: no memory text left in "${stats.source.name}" once texts naming the edited subjects are removed`);
  const values = new Float32Array(keep.length * hidden);
  keep.forEach((row, i) => values.set(memory.values.subarray(row * hidden, (row + 1) * hidden), i * hidden));
  return { values, rows: keep.length };
}
