/**
 * Training SERAC's scope classifier and copy gate on an edit train split (eric-mitchell/serac,
 * algs/serac.py trains the classifier the same way), one batch of records a step:
 *
 * - scope: each record's edit prompt against every input of the batch. The record's own prompt,
 *   paraphrases and portability questions are in its scope; its locality prompts, its prompt and
 *   paraphrases with another record's subject in place (neighbours: same relation, other subject)
 *   and every other record's inputs are not. Binary cross-entropy on σ(s · cos + b): half of the
 *   loss on the positives, a quarter on the record's own negatives (the hard ones), a quarter on
 *   the other records' inputs.
 * - copy gate: each input with its own record's edit: 1 where it asks the edited fact itself
 *   (prompt, paraphrases), 0 elsewhere (portability: read on from the edit; neighbours, locality
 *   prompts: not about it); positives and negatives weighted to half each.
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
import { SeracNetworks, subjectMatch } from './networks';

/** softplus(u) = log(1 + e^u), written to stay finite for large |u|. */
function softplus(u: Tensor): Tensor {
  return add(relu(u), log(addScalar(exp(neg(abs(u))), 1)));
}

/**
 * Binary cross-entropy of logits against labels; each class of `classes` (positives, and the kinds
 * of negatives) carries its share of the loss however many examples it has.
 */
function weightedBce(logits: Tensor, labels: readonly boolean[], classes: readonly string[], shares: Record<string, number>): Tensor {
  const e = logits.engine;
  const counts = new Map<string, number>();
  for (const c of classes) counts.set(c, (counts.get(c) ?? 0) + 1);
  const sign = e.tensor(Float32Array.from(labels, (y) => (y ? -1 : 1)), logits.shape);
  const weight = e.tensor(Float32Array.from(classes, (c) => (shares[c] ?? 0) / counts.get(c)!), logits.shape);
  return sum(mul(softplus(mul(logits, sign)), weight));
}

/** An input of a training batch: whose record it comes from, and what it is to that record. */
interface Input {
  text: string;
  owner: number;
  /** edit: the prompt or a paraphrase; neighbour: one of those about another subject; other: a locality prompt. */
  role: 'edit' | 'portability' | 'neighbour' | 'other';
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
    for (const q of [r.prompt, ...r.paraphrases]) {
      inputs.push({ text: distract(q, i), owner: i, role: 'edit' });
      // a neighbour: the same phrasing about another subject
      const swap = batch.length > 1 && r.subject ? other(i).subject : undefined;
      if (swap && r.subject && swap !== r.subject && q.includes(r.subject)) inputs.push({ text: distract(q.replace(r.subject, swap), i), owner: i, role: 'neighbour' });
    }
    for (const p of r.portability ?? []) inputs.push({ text: distract(p.prompt, i), owner: i, role: 'portability' });
    for (const l of r.locality ?? [r.loc]) inputs.push({ text: distract(l.prompt, i), owner: i, role: 'other' });
  });
  const embedded = (texts: string[]) => {
    const { states, mask } = e.noGrad(() => base.promptStates(texts, layer));
    return nets.embed(states, mask);
  };
  const entries = embedded(batch.map((r) => r.prompt)); // [R, w]
  const queries = embedded(inputs.map((q) => q.text)); // [Q, w]

  // scope: every (record, input) pair. Half the loss on the inputs in scope, a quarter on the
  // record's own negatives (neighbours, locality prompts: the hard ones), a quarter on other records' inputs.
  const matches = batch.flatMap((r) => inputs.map((q) => subjectMatch(r.subject, q.text)));
  const scopeLogits = nets.scopeLogits(entries, queries, e.tensor(Float32Array.from(matches), [batch.length, inputs.length])); // [R, Q]
  const pairs = batch.flatMap((_, i) => inputs.map((q) => (q.owner !== i ? 'elsewhere' : q.role === 'edit' || q.role === 'portability' ? 'in' : 'near')));
  const inScope = pairs.map((c) => c === 'in');
  const scope = weightedBce(scopeLogits, inScope, pairs, { in: 0.5, near: 0.25, elsewhere: 0.25 });

  // copy gate: each input with its own record's edit
  const owners = e.tensor(Int32Array.from(inputs, (q) => q.owner), [inputs.length], 'i32');
  const ownMatches = e.tensor(Float32Array.from(inputs, (q) => subjectMatch(batch[q.owner]!.subject, q.text)), [inputs.length, 1]);
  const gateLogits = nets.gateLogits(indexSelect(entries, 0, owners), queries, ownMatches); // [Q]
  const copies = inputs.map((q) => q.role === 'edit');
  const gate = weightedBce(
    gateLogits,
    copies,
    copies.map((y) => String(y)),
    { true: 0.5, false: 0.5 },
  );

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
