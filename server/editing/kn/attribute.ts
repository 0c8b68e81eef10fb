import type { Tensor } from '../../engine';
import { indexSelect, reshape, softmax, sum, takeAlongLast } from '../../engine/ops';
import { captureInto, Hooks, replaceAt } from '../../models/hooks';
import type { EditableLM, PromptIds } from '../../models/editable';
import { throwIfCancelled } from '../editor';
import type { KnHparams } from './hparams';

/** A neuron: a coordinate of one layer's MLP key (a row of W_out in GPT-2's layout). */
export interface Neuron {
  layer: number;
  index: number;
}

/**
 * Integrated gradients of p(answer | prompt) with respect to every neuron of `layer` at the position
 * that predicts the answer (KN step 1; decoder-only: the prompt's last token, encoder-decoder: the
 * decoder's start position): attr_i = k_i · (1/m) Σ_{j<m} ∂p/∂k_i evaluated at (j/m) · k, the
 * activation scaled from 0 towards its value (left Riemann sum, as the reference). The m scaled
 * copies run as one batch; returns attr [F].
 */
export function integratedGradients(lm: EditableLM, ids: readonly number[], answer: number, layer: number, steps: number): Float32Array {
  const engine = lm.engine;
  const f = lm.editSpec.mlpHidden;
  const seq: PromptIds = { prompt: ids, continuation: [] };
  const { width, row } = lm.layout([seq]);
  const last = row(0, 0); // the predicting position (one sequence: its flat row is its position)
  // The neuron activations at the last token, unmodified: k [F].
  const activation = engine.noGrad(() =>
    engine.tidy(() => {
      const captured = new Map<string, Tensor>();
      lm.stackToLayer([seq], layer, new Hooks().on('mlp_key', layer, captureInto(captured)));
      const k = captured.get(`mlp_key.${layer}`)!;
      const values = k.valuesSync().slice(last * f, (last + 1) * f) as Float32Array;
      k.dispose();
      return values;
    }),
  );
  const scaled = new Float32Array(steps * f); // [m, 1, F]: row j = (j/m) · k
  for (let j = 0; j < steps; j++) for (let i = 0; i < f; i++) scaled[j * f + i] = (j / steps) * activation[i]!;
  const gradient = engine.tidy(() => {
    const input = engine.watch(engine.tensor(scaled, [steps, 1, f]));
    const positions = Array.from({ length: steps }, (_, b) => [b, last] as const);
    const hooks = new Hooks().on('mlp_key', layer, (x) => replaceAt(x, positions, input));
    const { logits } = lm.teacherForced(
      Array.from({ length: steps }, () => seq),
      hooks,
    ); // [m, T, V]
    const lastRows = indexSelect(reshape(logits, [steps * width, -1]), 0, engine.tensor(Int32Array.from({ length: steps }, (_, b) => b * width + last), [steps], 'i32'));
    const probability = takeAlongLast(softmax(lastRows), engine.tensor(new Int32Array(steps).fill(answer), [steps], 'i32')); // [m]
    // Σ_j p_j: each copy's gradient lands in its own row of `input`.
    const [grad] = engine.grad(sum(probability), [input]);
    return grad!.valuesSync();
  });
  const attribution = new Float32Array(f);
  for (let j = 0; j < steps; j++) for (let i = 0; i < f; i++) attribution[i]! += (activation[i]! * gradient[j * f + i]!) / steps;
  return attribution;
}

/**
 * Knowledge neurons of a fact (KN steps 1-2): per prompt, the neurons (over all attributed layers)
 * with attribution above adaptiveThreshold × that prompt's maximum; then those found in at least
 * refineThreshold of the prompts.
 */
export function knowledgeNeurons(lm: EditableLM, prompts: readonly number[][], answer: number, layers: readonly number[], hp: KnHparams, signal?: AbortSignal): { neurons: Neuron[]; perPrompt: number[]; maxAttribution: number } {
  const counts = new Map<string, number>();
  const perPrompt: number[] = [];
  let maxAttribution = 0;
  for (const ids of prompts) {
    const attributions = layers.map((layer) => {
      throwIfCancelled(signal);
      return integratedGradients(lm, ids, answer, layer, hp.steps);
    });
    let max = -Infinity;
    for (const a of attributions) for (const v of a) max = Math.max(max, v);
    maxAttribution = Math.max(maxAttribution, max);
    let found = 0;
    if (max > 0) {
      attributions.forEach((a, li) =>
        a.forEach((v, i) => {
          if (v <= hp.adaptiveThreshold * max) return;
          const key = `${layers[li]}:${i}`;
          counts.set(key, (counts.get(key) ?? 0) + 1);
          found++;
        }),
      );
    }
    perPrompt.push(found);
  }
  const neurons = [...counts]
    .filter(([, n]) => n >= hp.refineThreshold * prompts.length)
    .map(([key]) => {
      const [layer, index] = key.split(':').map(Number) as [number, number];
      return { layer, index };
    })
    .sort((a, b) => a.layer - b.layer || a.index - b.index);
  return { neurons, perPrompt, maxAttribution };
}
