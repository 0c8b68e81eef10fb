import type { EditRequest } from '../../../lib/editing/request';
import type { Tensor } from '../../engine';
import { add, addScalar, div, indexSelect, klDivergence, logSoftmax, maximum, mul, mulScalar, narrow, neg, reshape, sqrt, square, sum, takeAlongLast, where } from '../../engine/ops';
import { Adam } from '../../engine/optim';
import { Hooks, positionMask } from '../../models/hooks';
import { KVCache } from '../../models/network';
import { throwIfCancelled, type DecoderOnlyContext } from '../editor';
import { norm } from '../linalg';
import type { TemplatedPrompt } from './compute-key';
import type { RomeHparams } from './hparams';

export interface ValueResult {
  /** v* = v_init + δ: the MLP output at the subject's last token that makes the model say the target. */
  value: Float32Array;
  /** v_init: that output before the edit (bare prompt, first template). */
  initial: Float32Array;
  steps: number;
  loss: number;
  nll: number;
}

/** One request's value to optimise: its index (for progress), the request, its templated prompts. */
export interface ValueItem {
  index: number;
  request: EditRequest;
  prompts: readonly TemplatedPrompt[];
}

/** Padded tokens (sequences × longest) one joint forward may hold; requests beyond it go to the next chunk. */
const CHUNK_TOKENS = 2048;

/**
 * v*: optimise δ added to layer l's MLP output at the subject's last token of every templated
 * prompt, so that the model predicts the target after each (ROME step 3; compute_v.py):
 *   loss = mean NLL(target tokens, teacher-forced)
 *        + klFactor · KL(p_orig || p_new) of the next token at the subject of "{subject} is a"
 *        + vWeightDecay · ||δ|| / ||v_init||²
 * with ||δ|| clamped to clampNormFactor · ||v_init|| after each Adam step.
 *
 * Several requests (MEMIT's batch) are optimised jointly: one forward carries every request's
 * sequences, each with its own δ, and the loss is the sum of the requests' losses. The terms are
 * separable and Adam is element-wise, so each δ follows exactly the steps it would alone (up to float
 * summation order); a request whose loss falls below earlyStopLoss keeps the δ that got it there, as
 * the one-request loop stops. The reference code runs one request after another: this is the same
 * optimisation in ceil(tokens / CHUNK_TOKENS) forwards per step instead of one per request.
 */
export async function computeValues(
  ctx: DecoderOnlyContext,
  items: readonly ValueItem[],
  hp: RomeHparams,
  layer = hp.layer,
  // reusePrefix false: every step runs whole sequences from `layer` (the check of the default)
  opts: { reusePrefix?: boolean } = {},
): Promise<ValueResult[]> {
  const results: ValueResult[] = [];
  const built = items.map((item) => build(ctx, item, hp));
  for (const chunk of chunks(built)) results.push(...(await optimiseChunk(ctx, chunk, hp, layer, opts.reusePrefix ?? true)));
  return results;
}

/** v* for one request (ROME). */
export async function computeValue(
  ctx: DecoderOnlyContext,
  requestIndex: number,
  request: EditRequest,
  prompts: readonly TemplatedPrompt[],
  hp: RomeHparams,
  layer = hp.layer,
): Promise<ValueResult> {
  return (await computeValues(ctx, [{ index: requestIndex, request, prompts }], hp, layer))[0]!;
}

type Built = ValueItem & { target: number[]; seqs: number[][]; facts: number[] };

/** A request's rewriting sequences (prompt + target[:-1], teacher-forced), then its KL sequence. */
function build(ctx: DecoderOnlyContext, item: ValueItem, hp: RomeHparams): Built {
  const { lm } = ctx;
  const target = lm.tokenizer.encode(item.request.targetNew, { addSpecialTokens: false }).ids;
  if (!target.length) throw new Error(`ROME: target ${JSON.stringify(item.request.targetNew)} has no tokens`);
  const klText = `${item.request.subject} is a`;
  const klIds = lm.encode(klText);
  const klFact = hp.factToken === 'last' ? klIds.length - 1 : lm.tokenizer.findSubjectTokens(klText, item.request.subject, { at: 0 }).last;
  const seqs = [...item.prompts.map((p) => [...p.ids, ...target.slice(0, -1)]), klIds];
  const facts = [...item.prompts.map((p) => p.factIndex), klFact];
  return { ...item, target, seqs, facts };
}

/** Consecutive requests whose padded sequences fit CHUNK_TOKENS (at least one request each). */
function* chunks(built: readonly Built[]): Generator<Built[]> {
  let chunk: Built[] = [];
  let rows = 0;
  let width = 0;
  for (const item of built) {
    const w = Math.max(...item.seqs.map((s) => s.length));
    if (chunk.length && (rows + item.seqs.length) * Math.max(width, w) > CHUNK_TOKENS) {
      yield chunk;
      [chunk, rows, width] = [[], 0, 0];
    }
    chunk.push(item);
    rows += item.seqs.length;
    width = Math.max(width, w);
  }
  if (chunk.length) yield chunk;
}

/**
 * The joint batch of some requests: their sequences padded to one width; per sequence its request
 * (which δ row it adds) and fact position; per request the rows of the flattened [B*T, V] logits
 * that predict its target tokens (weighted 1/count: the mean), its KL row, and its bare prompt's
 * fact row (where v_init is read). `cut`: each sequence starts at its fact token (`offsets`), the
 * tokens before it being held in a KV cache.
 */
function layout(items: readonly Built[], active: readonly number[], cut: boolean) {
  const offsets = active.flatMap((r) => items[r]!.facts.map((f) => (cut ? f : 0)));
  const seqs = active.flatMap((r) => items[r]!.seqs).map((s, b) => s.slice(offsets[b]));
  const width = Math.max(...seqs.map((s) => s.length));
  const owner: number[] = [];
  const positions: [number, number][] = [];
  const target = { rows: [] as number[], ids: [] as number[], weights: [] as number[], owner: [] as number[] };
  const klRows: number[] = [];
  const initialRows: number[] = [];
  let b = 0;
  active.forEach((r, slot) => {
    const { target: ids, seqs: own, facts } = items[r]!;
    initialRows.push(b * width + facts[0]! - offsets[b]!);
    const prompts = own.length - 1;
    for (let s = 0; s < own.length; s++, b++) {
      owner.push(r);
      const at = (position: number) => b * width + position - offsets[b]!;
      positions.push([b, facts[s]! - offsets[b]!]);
      if (s === prompts) {
        klRows.push(at(facts[s]!));
        continue;
      }
      const start = own[s]!.length - ids.length; // the prompt's last token predicts target[0]
      ids.forEach((id, j) => {
        target.rows.push(at(start + j));
        target.ids.push(id);
        target.weights.push(1 / (prompts * ids.length));
        target.owner.push(slot);
      });
    }
  });
  return { seqs, offsets, width, owner, positions, target, klRows, initialRows };
}

async function optimiseChunk(ctx: DecoderOnlyContext, items: readonly Built[], hp: RomeHparams, layer: number, reusePrefix: boolean): Promise<ValueResult[]> {
  const { lm } = ctx;
  const engine = lm.engine;
  const { hidden, vocabSize } = lm.network.spec;
  const count = items.length;
  const i32 = (values: readonly number[]) => engine.tensor(Int32Array.from(values), [values.length], 'i32');
  const delta = engine.parameter(new Array<number>(count * hidden).fill(0), [count, hidden]);
  const optimizer = new Adam([delta], { lr: hp.vLr });
  let initial: Float32Array[] | null = null;
  let decayScale: Tensor | null = null; // [count]: vWeightDecay / ||v_init||²
  let klInit: Tensor | null = null; // [count, V]: the KL row's log-probabilities before the edit
  let maxNorm: Tensor | null = null; // [count, 1]: clampNormFactor · ||v_init||
  let stoppedRows: Tensor | null = null; // [count, 1]: 1 for a request that stopped
  let stoppedDelta: Tensor | null = null; // [count, hidden]: the δ each stopped request keeps
  const queued = engine.backend.queued ?? false;
  // per request: the step count, last loss terms and, once below earlyStopLoss, the δ kept. A stopped
  // request leaves the batch: later steps forward only the requests still optimising.
  const steps = new Array<number>(count).fill(0);
  const last = Array.from({ length: count }, () => ({ loss: Infinity, nll: Infinity }));
  const frozen: (Float32Array | null)[] = new Array(count).fill(null);
  // The layers below `layer` do not see δ: the first step keeps the residual entering `layer` for
  // every sequence, and later steps start there (sequences of the requests still optimising, cut to
  // their width: right padding never reaches a real token under causal attention). Nor do the tokens
  // before each sequence's fact token, at any layer: the first step also keeps their keys and values
  // at layers >= `layer` (`prefix`), and later steps run only the fact token and those after it.
  let below: Tensor | null = null;
  let prefix: KVCache | null = null; // keys and values of the first step's sequences, masked to the tokens before each fact
  const firstRows = items.flatMap((item, r) => item.seqs.map(() => r)); // each first-step sequence's request
  const firstFacts = items.flatMap((item) => item.facts);
  const firstWidth = Math.max(...items.flatMap((item) => item.seqs.map((s) => s.length)));
  const cutWidth = Math.max(...items.flatMap((item) => item.seqs.map((s, i) => s.length - item.facts[i]!)));
  const layers = lm.network.spec.layers;
  reusePrefix &&= firstWidth + cutWidth <= lm.network.spec.maxPositions;
  try {
    for (let step = 0; step < hp.vNumGradSteps; step++) {
      const active = frozen.flatMap((f, r) => (f ? [] : [r]));
      if (!active.length) break;
      throwIfCancelled(ctx.signal);
      const batch = layout(items, active, prefix !== null);
      let cache: KVCache | undefined;
      const terms = engine.tidy(() => {
        const activeT = i32(active);
        const ownerT = i32(batch.owner);
        const hooks = new Hooks();
        if (!below) hooks.on('resid_pre', layer, (x) => ((below = engine.keep(engine.view(x, x.shape))), x));
        hooks.on('mlp_out', layer, (x) => {
          if (!initial) {
            // the first step has every request: read each v_init
            const values = x.valuesSync();
            initial = batch.initialRows.map((row) => Float32Array.from(values.subarray(row * hidden, (row + 1) * hidden)));
          }
          // each sequence's own request's δ at its fact token
          return add(x, mul(positionMask(x, batch.positions), reshape(indexSelect(delta, 0, ownerT), [batch.owner.length, 1, hidden])));
        });
        let from: { layer: number; residual: Tensor } | undefined;
        if (!below) cache = reusePrefix ? new KVCache(layers) : undefined;
        else {
          const kept = firstRows.flatMap((r, b) => (frozen[r] ? [] : [b])); // the first step's sequences still optimising
          // the kept sequences' rows of a first-step tensor: a view while every request still optimises
          // (ROME's one request throughout), else a copy of those rows
          const keptT = i32(kept);
          const keptRows = (t: Tensor) => (kept.length === firstRows.length ? engine.view(t, t.shape) : indexSelect(t, 0, keptT));
          // each kept sequence's residual entering `layer` from its offset on (past the end: any row)
          const rows = kept.flatMap((b0, b) => Array.from({ length: batch.width }, (_, j) => b0 * firstWidth + Math.min(batch.offsets[b]! + j, firstWidth - 1)));
          from = { layer, residual: reshape(indexSelect(reshape(below, [-1, hidden]), 0, i32(rows)), [kept.length, batch.width, hidden]) };
          if (prefix) {
            cache = new KVCache(layers);
            for (let l = layer; l < layers; l++) {
              cache.keys[l] = engine.keep(keptRows(prefix.keys[l]!));
              cache.values[l] = engine.keep(keptRows(prefix.values[l]!));
            }
            cache.mask = kept.map((b0) => prefix!.mask[b0]!);
          }
        }
        const { residual } = lm.runToLayer(batch.seqs, layers - 1, hooks, from, cache);
        // logits of the rows the loss reads only (targets, then KL rows), not of every position
        const rows = [...batch.target.rows, ...batch.klRows];
        const picked = indexSelect(reshape(residual, [-1, hidden]), 0, i32(rows));
        const logits = reshape(lm.network.head(reshape(picked, [1, rows.length, hidden])), [rows.length, vocabSize]);
        const targets = batch.target.rows.length;
        const nllRows = neg(takeAlongLast(logSoftmax(narrow(logits, 0, 0, targets)), i32(batch.target.ids)));
        const klLogProbs = logSoftmax(narrow(logits, 0, targets, batch.klRows.length));
        klInit ??= engine.keep(engine.tensor(klLogProbs.valuesSync() as Float32Array, klLogProbs.shape));
        decayScale ??= engine.keep(engine.tensor(Float32Array.from(initial!, (v) => hp.vWeightDecay / norm(v) ** 2), [count]));
        const kl = mulScalar(klDivergence(indexSelect(klInit, 0, activeT), klLogProbs, { reduction: 'none' }), hp.klFactor); // [active]
        // ||δ|| (with a tiny epsilon: the norm's gradient is undefined at δ = 0, where we start)
        const decay = mul(sqrt(addScalar(sum(square(indexSelect(delta, 0, activeT)), -1), 1e-12)), indexSelect(decayScale, 0, activeT));
        const weighted = mul(nllRows, engine.tensor(Float32Array.from(batch.target.weights), [batch.target.weights.length]));
        const loss = add(add(sum(weighted), sum(kl)), sum(decay));
        // On a device queue the backward is recorded before the loss terms are read, so one wait
        // covers forward and backward (wasted only on the last step); on the CPU the terms are read
        // first and the last step's backward is skipped.
        if (queued) engine.backward(loss);
        const perRow = { nll: weighted.valuesSync(), kl: kl.valuesSync(), decay: decay.valuesSync() };
        const perRequest = active.map((_, slot) => ({ nll: 0, kl: perRow.kl[slot]!, weightDecay: perRow.decay[slot]!, loss: 0 }));
        batch.target.owner.forEach((slot, i) => (perRequest[slot]!.nll += perRow.nll[i]!));
        for (const t of perRequest) t.loss = t.nll + t.kl + t.weightDecay;
        if (queued) return perRequest;
        if (perRequest.every((t) => t.loss < hp.earlyStopLoss)) engine.releaseGraph();
        else engine.backward(loss);
        return perRequest;
      });
      if (cache && !prefix) {
        // the first step's keys and values: those of layers >= `layer`, of the tokens before each fact
        for (let l = 0; l < layer; l++) {
          cache.keys[l]?.dispose();
          cache.values[l]?.dispose();
          cache.keys[l] = cache.values[l] = null;
        }
        cache.mask = firstFacts.map((f) => Array.from({ length: firstWidth }, (_, j) => (j < f ? 1 : 0)));
        prefix = cache;
      } else cache?.dispose();
      let current: Float32Array | null = null; // δ as this step used it, read only when a request stops
      let stopped = false;
      terms.forEach((t, slot) => {
        const r = active[slot]!;
        last[r] = t;
        steps[r] = step + 1;
        ctx.onProgress?.({ type: 'step', request: items[r]!.index, step, loss: t.loss, terms: { nll: t.nll, kl: t.kl, weightDecay: t.weightDecay } });
        if (t.loss >= hp.earlyStopLoss) return;
        current ??= delta.valuesSync() as Float32Array;
        frozen[r] = Float32Array.from(current.subarray(r * hidden, (r + 1) * hidden));
        stopped = true;
      });
      if (frozen.every((f) => f)) break;
      if (stopped) {
        // each stopped request's δ as it stopped, restored after every step (Adam's momentum would move it)
        stoppedRows?.dispose();
        stoppedRows = engine.keep(engine.tensor(Float32Array.from(frozen, (f) => (f ? 1 : 0)), [count, 1]));
        stoppedDelta?.dispose();
        const rows = new Float32Array(count * hidden);
        frozen.forEach((f, r) => f && rows.set(f, r * hidden));
        stoppedDelta = engine.keep(engine.tensor(rows, [count, hidden]));
      }
      optimizer.step();
      optimizer.zeroGrad();
      // keep each ||δ|| within clampNormFactor · ||v_init|| (on the backend: nothing waits for it)
      maxNorm ??= engine.keep(engine.tensor(Float32Array.from(initial!, (v) => hp.clampNormFactor * norm(v)), [count, 1]));
      const next = engine.noGrad(() =>
        engine.tidy(() => {
          const clamped = mul(delta, div(maxNorm!, maximum(sqrt(sum(square(delta), -1, true)), maxNorm!)));
          return stoppedRows ? where(stoppedRows, stoppedDelta!, clamped) : clamped;
        }),
      );
      delta.assign(next);
      next.dispose();
      await new Promise((r) => setImmediate(r));
    }
    const d = delta.valuesSync();
    return items.map((_, r) => {
      const own = frozen[r] ?? d.subarray(r * hidden, (r + 1) * hidden);
      const init = initial![r]!;
      return { value: init.map((v, i) => v + own[i]!), initial: init, steps: steps[r]!, loss: last[r]!.loss, nll: last[r]!.nll };
    });
  } finally {
    for (const t of [delta, klInit, decayScale, below, maxNorm, stoppedRows, stoppedDelta] as (Tensor | null)[]) t?.dispose();
    (prefix as KVCache | null)?.dispose();
    optimizer.dispose();
  }
}
