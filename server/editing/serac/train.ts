/**
 * Training SERAC's scope classifier and copy gate on an edit train split (eric-mitchell/serac,
 * algs/serac.py trains the classifier the same way), one batch of records a step:
 *
 * - scope: each record's edit prompt against every input of the batch. The record's own prompt,
 *   paraphrases and portability questions are in its scope; its locality prompts, its prompt with
 *   another record's subject in place (a neighbour: same relation, other subject) and every other
 *   record's inputs are not. Binary cross-entropy on σ(s · cos + b), positives and negatives
 *   weighted to half each.
 * - copy gate: for the same pairs, 1 where the input asks the edited fact itself (prompt,
 *   paraphrases), 0 elsewhere (portability: read on from the edit; the rest: not about it).
 *
 * A share (`distract`) of inputs get another record's statement put in front, as CounterFact's
 * paraphrase prompts carry a sentence of context. The base model is frozen: its hidden states are
 * the classifier's input, so a step is one forward to the classifier's layer and the small heads'
 * backward. The loop, checkpoints and resume are shared with MEND and KE (../trained/loop.ts).
 */
import { mulberry32 } from '../../../lib/random';
import type { Tensor } from '../../engine';
import { abs, add, addScalar, exp, indexSelect, log, mul, neg, relu, sum } from '../../engine/ops';
import type { EditableLM } from '../../models/editable';
import { trainingKey } from '../mend/train';
import { trainLoop, type TrainOptions, type TrainRecord, type TrainResult } from '../trained/loop';
import type { TrainedEditorStore } from '../trained/store';
import { SERAC_ARCHITECTURE, type SeracHparams } from './hparams';
import { SeracNetworks } from './networks';

/** softplus(u) = log(1 + e^u), written to stay finite for large |u|. */
function softplus(u: Tensor): Tensor {
  return add(relu(u), log(addScalar(exp(neg(abs(u))), 1)));
}

/** Binary cross-entropy of logits against 0/1 labels, positives and negatives weighted to half each. */
function balancedBce(logits: Tensor, labels: readonly boolean[]): Tensor {
  const e = logits.engine;
  const positives = labels.filter(Boolean).length;
  const negatives = labels.length - positives;
  const sign = e.tensor(Float32Array.from(labels, (y) => (y ? -1 : 1)), logits.shape);
  const weight = e.tensor(Float32Array.from(labels, (y) => (y ? 0.5 / Math.max(1, positives) : 0.5 / Math.max(1, negatives))), logits.shape);
  return sum(mul(softplus(mul(logits, sign)), weight));
}

/** An input of a training batch: whose record it comes from, and what it is to that record. */
interface Input {
  text: string;
  owner: number;
  role: 'edit' | 'portability' | 'other';
}

/** The losses of one batch (inside the loop's tidy scope): `total` is backpropagated. */
export function seracLoss(base: EditableLM, nets: SeracNetworks, batch: readonly TrainRecord[], hp: SeracHparams, random: () => number): { total: Tensor; terms: { scope: number; scopeAccuracy: number; gate: number; gateAccuracy: number } } {
  const e = base.engine;
  const layer = hp.layers[0]!;
  const other = (owner: number): TrainRecord => {
    let j = Math.floor(random() * (batch.length - 1));
    if (j >= owner) j++;
    return batch[j]!;
  };
  /** Another record's statement in front of the input, now and then. */
  const distract = (text: string, owner: number): string => {
    if (batch.length < 2 || random() >= hp.distract) return text;
    const r = other(owner);
    return `${r.prompt}${r.targetTrue ?? r.target}. ${text}`;
  };

  const inputs: Input[] = [];
  batch.forEach((r, i) => {
    for (const q of [r.prompt, ...r.paraphrases]) inputs.push({ text: distract(q, i), owner: i, role: 'edit' });
    for (const p of r.portability ?? []) inputs.push({ text: distract(p.prompt, i), owner: i, role: 'portability' });
    for (const l of r.locality ?? [r.loc]) inputs.push({ text: distract(l.prompt, i), owner: i, role: 'other' });
    // a neighbour: the same phrasing about another subject
    const swap = batch.length > 1 && r.subject ? other(i).subject : undefined;
    if (swap && r.subject && swap !== r.subject && r.prompt.includes(r.subject)) inputs.push({ text: distract(r.prompt.replace(r.subject, swap), i), owner: i, role: 'other' });
  });
  const embedded = (texts: string[]) => {
    const { states, mask } = e.noGrad(() => base.promptStates(texts, layer));
    return nets.embed(states, mask);
  };
  const entries = embedded(batch.map((r) => r.prompt)); // [R, w]
  const queries = embedded(inputs.map((q) => q.text)); // [Q, w]

  // scope: every (record, input) pair
  const scopeLogits = nets.scopeLogits(entries, queries); // [R, Q]
  const inScope = batch.flatMap((_, i) => inputs.map((q) => q.owner === i && q.role !== 'other'));
  const scope = balancedBce(scopeLogits, inScope);

  // copy gate: each input with its own record's edit
  const owners = e.tensor(Int32Array.from(inputs, (q) => q.owner), [inputs.length], 'i32');
  const gateLogits = nets.gateLogits(indexSelect(entries, 0, owners), queries); // [Q]
  const copies = inputs.map((q) => q.role === 'edit');
  const gate = balancedBce(gateLogits, copies);

  const accuracy = (logits: Tensor, labels: readonly boolean[]) => {
    const z = logits.valuesSync();
    return labels.filter((y, k) => y === z[k]! > 0).length / labels.length;
  };
  return {
    total: add(scope, gate),
    terms: { scope: scope.valuesSync()[0]!, scopeAccuracy: accuracy(scopeLogits, inScope), gate: gate.valuesSync()[0]!, gateAccuracy: accuracy(gateLogits, copies) },
  };
}

export async function trainSerac(lm: EditableLM, store: TrainedEditorStore, records: readonly TrainRecord[], hp: SeracHparams, opts: TrainOptions = {}): Promise<TrainResult> {
  const nets = new SeracNetworks(lm.engine, lm.editSpec.hidden, hp);
  const params = nets.parameters();
  let batches = 0;
  return trainLoop(
    lm,
    {
      method: 'serac',
      store,
      layers: hp.layers,
      hp,
      key: trainingKey(hp),
      nets: { groups: [{ params, lr: hp.lr }], values: () => nets.values(), load: (v) => nets.load(v), dispose: () => nets.dispose() },
      examples: records,
      loss: (batch) => seracLoss(lm, nets, batch, hp, mulberry32(hp.seed * 1_000_003 + batches++)),
      meta: { architecture: Object.fromEntries(SERAC_ARCHITECTURE.map((k) => [k, hp[k]])), hparams: hp },
      detail: `${records.length} records, classifier and copy gate on layer ${hp.layers[0]}'s states (${params.reduce((n, p) => n + p.size, 0)} parameters)`,
    },
    opts,
  );
}
