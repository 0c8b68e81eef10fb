import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import type { EditRequest } from '../../lib/editing/request';
import type { EvalCase } from '../../lib/eval';
import { CpuBackend, Engine } from '../engine';
import { Adam } from '../engine/optim';
import { evaluate } from '../eval/runner';
import { loadSeq2SeqModel } from '../models/load';
import type { Seq2SeqLanguageModel } from '../models/seq2seq-lm';
import { calinet } from './calinet/method';
import { ContextTemplates } from './context-templates';
import { addDelta, snapshot } from './deltas';
import type { EditContext } from './editor';
import { ftL, ftM } from './ft/method';
import { ke } from './ke/method';
import { keLoss, type KeExample } from './ke/meta';
import { KeNetworks } from './ke/networks';
import { kn } from './kn/method';
import { memit } from './memit/method';
import { MendNetworks } from './mend/editor-net';
import { metaLoss } from './mend/meta';
import { mend } from './mend/method';
import { targetIds, trainMend } from './mend/train';
import { rome } from './rome/method';
import { SecondMoments } from './stats/second-moment';
import { TrainedEditorStore } from './trained/store';
import type { TrainRecord } from './trained/loop';
import { tpatcher } from './tpatcher/method';

/**
 * Editing an encoder-decoder model through the one Editor interface (server/models/editable.ts):
 * the prompt goes to the encoder, the target is scored on the decoder side, and the methods edit the
 * decoder. On the tiny random T5 models of the parity fixtures (2 + 2 layers, d_model 32).
 */
const FIXTURES = path.resolve(__dirname, '../../data/fixtures/t5');
const engine = new Engine(new CpuBackend());

const request: EditRequest = { prompt: '{} is the capital of', subject: 'Paris', targetNew: ' France' };
const unrelated = 'translate English to German: The cat';

/** Unrelated text for T-Patcher's memory (the fixture tokenizer spells most of it in pieces). */
const TEXTS = ['The cat is on the mat.', 'translate English to German: The house is small.', 'Danielle Darrieux speaks French.', 'The mother tongue of Danielle is German.', 'A tall tower stands in the city.', 'Rivers run to the sea.'];

async function setup(variant = 't5-v1_0') {
  const lm = await loadSeq2SeqModel(engine, path.join(FIXTURES, variant));
  const stats = new SecondMoments(lm, `fixture-${variant}`, { name: 'six sentences', texts: () => TEXTS }, { maxTokens: 400, maxLength: 64, batchSize: 8 });
  const ctx: EditContext = { lm, stats, templates: new ContextTemplates(lm) };
  return { lm, ctx };
}

/** Teacher-forced log p(target | prompt) and the decoder logits of an unrelated prompt. */
function probe(lm: Seq2SeqLanguageModel) {
  const prompt = request.prompt.replace('{}', request.subject);
  const [edited, other] = lm.score([
    { prompt, target: request.targetNew },
    { prompt: unrelated, target: ' Paris is' },
  ]);
  return { logProb: edited!.logProb, correct: edited!.tokens.every((t) => t.argmaxId === t.id), other: other!.tokens.map((t) => t.logProb) };
}

function values(lm: Seq2SeqLanguageModel): Map<string, Float32Array> {
  return new Map([...lm.network.params].map(([name, t]) => [name, Float32Array.from(t.valuesSync())]));
}

describe('FT on T5', () => {
  it('FT-M fine-tunes the last decoder FFN until greedy decoding gives the target; the model is left as found and restored exactly', async () => {
    const { lm, ctx } = await setup();
    const before = values(lm);
    const live = engine.memory().tensors;
    const pre = probe(lm);
    expect(pre.correct).toBe(false);
    const hp = ftM.hparams.parse({ ...ftM.defaults(lm), layer: 1, normConstraint: null, numSteps: 60, lr: 5e-3 });
    const outcome = await ftM.apply(ctx, [request], hp);
    expect(engine.memory().tensors).toBe(live);
    expect(values(lm)).toEqual(before);
    expect(outcome.deltas).toHaveLength(1);
    expect(outcome.deltas[0]).toMatchObject({ param: 'decoder.block.1.layer.2.DenseReluDense.wo.weight', kind: 'dense', rows: 32, cols: 48 });

    const restore = snapshot(lm.network, [outcome.deltas[0]!.param]);
    addDelta(lm.network, outcome.deltas[0]!);
    const post = probe(lm);
    expect(post.logProb).toBeGreaterThan(pre.logProb + 1);
    expect(post.correct).toBe(true);
    // greedy decoding now reproduces the target's tokens: exact match
    const target = lm.tokenizer.encode(request.targetNew, { addSpecialTokens: false }).ids;
    expect(lm.generateIds([lm.encode('Paris is the capital of')], { maxNewTokens: target.length, stopAtEos: false })[0]).toEqual(target);
    restore.restore();
    expect(values(lm)).toEqual(before);
    expect(probe(lm)).toEqual(pre);
    lm.network.dispose();
  });

  it('FT-L keeps ||ΔW||∞ within ε and moves the target up', async () => {
    const { lm, ctx } = await setup();
    const pre = probe(lm);
    const hp = ftL.hparams.parse({ ...ftL.defaults(lm), layer: 1, normConstraint: 5e-2 });
    expect(hp.objective).toBe('prompt_last');
    const outcome = await ftL.apply(ctx, [request], hp);
    const delta = outcome.deltas[0]!;
    if (delta.kind !== 'dense') throw new Error('FT returns a dense delta');
    const maxAbs = delta.values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(maxAbs).toBeGreaterThan(0);
    expect(maxAbs).toBeLessThanOrEqual(5e-2 * (1 + 1e-6));
    addDelta(lm.network, delta);
    expect(probe(lm).logProb).toBeGreaterThan(pre.logProb);
    lm.network.dispose();
  });
});

describe('methods that add FFN slots, on T5', () => {
  // v1.1 (gated-GELU, untied head): converges at step 1921 of 2000 with the default losses. The
  // v1.0 fixture does not within 2000 steps (edit NLL stays at 3.4 while the memory loss holds the
  // patch down); with memoryLossWeight 0 it converges in 8. See tpatcher/README.md.
  it('T-Patcher patches the last decoder FFN until every target token is the argmax; removing the patch restores the logits exactly', async () => {
    const { lm, ctx } = await setup('t5-v1_1');
    const pre = probe(lm);
    const hp = tpatcher.hparams.parse({ ...tpatcher.defaults(lm), memoryTokens: 200 });
    expect(hp.layer).toBe(1); // the last decoder layer
    await tpatcher.setup!(ctx, hp);
    const outcome = await tpatcher.apply(ctx, [request], hp);
    expect(lm.network.slots.size).toBe(0);
    expect(outcome.stats.converged).toBe('yes');
    const delta = outcome.deltas[0]!;
    expect(delta).toMatchObject({ kind: 'ffnSlots', layer: 1, param: 'ffn_slots.1', width: 32 });
    addDelta(lm.network, delta);
    const post = probe(lm);
    expect(post.correct).toBe(true);
    expect(post.logProb).toBeGreaterThan(pre.logProb);
    addDelta(lm.network, delta, -1);
    expect(probe(lm)).toEqual(pre);
    lm.network.dispose();
  }, 60_000);

  it('CaliNET trains slots beside the last two decoder FFNs that raise the target', async () => {
    const { lm, ctx } = await setup();
    const pre = probe(lm);
    const hp = calinet.hparams.parse({ ...calinet.defaults(lm), slots: 16, maxSteps: 60 });
    expect(hp.layers).toEqual([0, 1]);
    const outcome = await calinet.apply(ctx, [request], hp);
    expect(outcome.deltas.map((d) => d.param)).toEqual(['ffn_slots.0', 'ffn_slots.1']);
    for (const d of outcome.deltas) addDelta(lm.network, d);
    const post = probe(lm);
    expect(post.logProb).toBeGreaterThan(pre.logProb + 1);
    for (const d of outcome.deltas) addDelta(lm.network, d, -1);
    expect(probe(lm)).toEqual(pre);
    lm.network.dispose();
  });
});

describe('KN on T5', () => {
  it('attributes decoder neurons at the first decoder position and rewrites only their W_out columns', async () => {
    const { lm, ctx } = await setup();
    const before = values(lm);
    const hp = kn.hparams.parse({ ...kn.defaults(lm), steps: 10 });
    const outcome = await kn.apply(ctx, [request], hp);
    expect(values(lm)).toEqual(before);
    expect(Number(outcome.stats['request0.neurons'])).toBeGreaterThan(0);
    const selected = String(outcome.stats['request0.selected']).split(' ');
    for (const d of outcome.deltas) {
      expect(d.param).toMatch(/^decoder\.block\.[01]\.layer\.2\.DenseReluDense\.wo\.weight$/);
      if (d.kind !== 'lowRank') throw new Error('KN returns rank-one deltas');
      // [D, F] as T5 stores wo: the right factor is the neuron indicator
      const layer = Number(/block\.(\d)/.exec(d.param)![1]);
      const columns = Array.from(d.right.keys()).filter((i) => d.right[i] !== 0);
      expect(columns.map((i) => `${layer}:${i}`).every((n) => selected.includes(n))).toBe(true);
    }
    lm.network.dispose();
  }, 60_000);
});

describe('methods that refuse T5', () => {
  it('ROME and MEMIT say why (the subject is read by the encoder, the object predicted by the decoder)', async () => {
    const { lm, ctx } = await setup();
    // refused when hyper-parameters are resolved (before any statistics) and when applied
    expect(() => rome.defaults(lm)).toThrow(/ROME does not edit t5 models/);
    expect(() => memit.defaults(lm)).toThrow(/MEMIT does not edit t5 models/);
    await expect(rome.apply(ctx, [request], rome.hparams.parse({ layer: 0 }))).rejects.toThrow(/ROME does not edit t5 models \(encoder-decoder\): .*subject is read by the encoder and the object predicted by the decoder/);
    await expect(memit.apply(ctx, [request], memit.hparams.parse({ layers: [0, 1] }))).rejects.toThrow(/MEMIT does not edit t5 models \(encoder-decoder\): .*no MLP position holds both/);
    lm.network.dispose();
  });
});

describe('MEND and KE on T5: editors trained on the decoder', () => {
  // words the fixture's 77-piece tokenizer spells without <unk> (no b, j, k, v)
  const SUBJECTS = ['Sara', 'Tom', 'Greta', 'Peter', 'Emil', 'Ida', 'Rosa', 'Fred', 'Mia', 'Dora', 'Tilda', 'Igor', 'Paris', 'Danielle', 'Max', 'Rita'];
  const TARGETS = [' France', ' Paris', ' German', ' Spain', ' Egypt', ' Italy'];
  const records: TrainRecord[] = SUBJECTS.map((subject, i) => ({
    prompt: `${subject} is from`,
    target: TARGETS[i % TARGETS.length]!,
    paraphrases: [`The home of ${subject} is`],
    loc: { prompt: i % 2 ? 'The cat is on the mat. The capital of France is' : 'The mother tongue of Danielle is', answer: i % 2 ? ' Paris' : ' German' },
  }));
  const train = records.slice(0, 12);
  const heldOut = records.slice(12);
  const scratch = mkdtempSync(path.join(tmpdir(), 'locus-t5-trained-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('MEND (v1.1: wi_1 and wo of the last decoder layer) trains: the held-out post-edit NLL falls, and an edit raises p(target)', async () => {
    const { lm, ctx } = await setup('t5-v1_1');
    const store = TrainedEditorStore.forModel(path.join(FIXTURES, 't5-v1_1'), scratch);
    const hp = mend.hparams.parse({ ...mend.defaults(lm), layers: [1], rank: 8, steps: 40, lr: 1e-3 });
    expect(hp.projections).toEqual(['in', 'out']);
    const examples = (rs: TrainRecord[]) => rs.map((r) => ({ edit: { prompt: lm.encode(r.prompt), target: targetIds(lm, r.target) }, loc: { prompt: lm.encode(r.loc.prompt), target: targetIds(lm, r.loc.answer) } }));
    const heldOutNll = (nets: MendNetworks) => {
      const terms = examples(heldOut).map((x) =>
        engine.tidy(() => {
          const m = metaLoss(lm, nets, [{ ...x, outer: [x.edit] }], { cedit: 1, cloc: 1, learnNorms: false });
          engine.releaseGraph();
          return m.edit;
        }),
      );
      return terms.reduce((a, b) => a + b, 0) / terms.length;
    };
    const result = await trainMend(lm, store, train, hp);
    expect(result.steps).toBe(40);
    const contents = (await store.read(result.file))!;
    const trained = new MendNetworks(engine, lm, hp);
    trained.load(contents.tensors);
    expect(trained.weights.map((w) => w.name)).toEqual(['decoder.block.1.layer.2.DenseReluDense.wi_1.weight', 'decoder.block.1.layer.2.DenseReluDense.wo.weight']);
    const initial = new MendNetworks(engine, lm, hp);
    const start = initial.values();
    for (const [name, values] of contents.tensors) if (name.includes('.norm.')) start.set(name, values);
    initial.load(start);
    const before = heldOutNll(initial);
    const after = heldOutNll(trained);
    console.info(`T5 MEND held-out post-edit NLL: untrained editor ${before.toFixed(3)}, trained ${after.toFixed(3)}`);
    expect(after).toBeLessThan(before);
    initial.dispose();
    trained.dispose();

    const withStore: EditContext = { ...ctx, trained: store };
    const r = heldOut[0]!;
    const edit: EditRequest = { prompt: '{} is from', subject: SUBJECTS[12]!, targetNew: r.target };
    const logP = () => lm.score([{ prompt: r.prompt, target: r.target }])[0]!.logProb;
    const before2 = values(lm);
    const outcome = await mend.apply(withStore, [edit], hp);
    expect(values(lm)).toEqual(before2);
    const pre = logP();
    for (const d of outcome.deltas) addDelta(lm.network, d);
    const gain = logP() - pre;
    console.info(`T5 MEND edit: log p(target) gain ${gain.toFixed(3)}`);
    expect(gain).toBeGreaterThan(0);
    lm.network.dispose();
  }, 120_000);

  // KE's condition text ("old >> new || prompt") has characters the fixture tokenizer lacks, so the
  // loop here feeds token ids (the world T5's byte-level tokenizer spells anything: trainKe there)
  it('KE on T5: its hyper-network edits wi and wo of the last decoder layer and trains through the decoder (the held-out post-edit NLL falls)', async () => {
    const { lm } = await setup('t5-v1_0');
    const hp = ke.hparams.parse({ ...ke.defaults(lm), layers: [1] });
    const nets = new KeNetworks(engine, lm, hp);
    expect(nets.weights.map((w) => w.name)).toEqual(['decoder.block.1.layer.2.DenseReluDense.wi.weight', 'decoder.block.1.layer.2.DenseReluDense.wo.weight']);
    const example = (r: TrainRecord): KeExample => ({
      edit: { prompt: lm.encode(r.prompt), target: targetIds(lm, r.target) },
      outer: [r.prompt, ...r.paraphrases].map((p) => ({ prompt: lm.encode(p), target: targetIds(lm, r.target) })),
      loc: { prompt: lm.encode(r.loc.prompt), target: targetIds(lm, r.loc.answer) },
      condition: lm.encode(`${r.target.trim()}: ${r.prompt}`),
    });
    const heldOutEdit = () => heldOut.map((r) => engine.tidy(() => {
      const m = keLoss(lm, nets, [example(r)], hp.cloc);
      engine.releaseGraph();
      return m.edit;
    })).reduce((a, b) => a + b, 0) / heldOut.length;
    const before = heldOutEdit();
    const optimizer = new Adam(nets.parameters(), { lr: hp.lr });
    for (let step = 0; step < 40; step++) {
      engine.tidy(() => engine.backward(keLoss(lm, nets, [example(train[step % train.length]!)], hp.cloc).total));
      optimizer.step();
      optimizer.zeroGrad();
    }
    optimizer.dispose();
    const after = heldOutEdit();
    console.info(`T5 KE held-out post-edit NLL: untrained ${before.toFixed(3)}, after 40 steps ${after.toFixed(3)}`);
    expect(after).toBeLessThan(before);
    nets.dispose();
    lm.network.dispose();
  }, 120_000);
});

describe('the evaluation runner on T5', () => {
  it('edits and scores a case with FT-M in single mode, and leaves the weights as they were', async () => {
    const { lm, ctx } = await setup();
    const before = values(lm);
    const cases: EvalCase[] = [
      {
        id: 'case 0',
        request,
        rewritePrompts: ['Paris is the capital of'],
        generality: [{ prompt: 'Paris, the capital of', target: ' France' }],
        locality: [{ prompt: unrelated, groundTruth: ' Paris is' }],
        portability: [],
      },
    ];
    const report = await evaluate(ctx, 'ft-m', { layer: 1, normConstraint: null, numSteps: 60, lr: 5e-3 }, cases, { mode: 'single' });
    expect(report.averages.pre.reliability).toBeLessThan(1);
    expect(report.averages.post.reliability).toBe(1);
    expect(report.cases[0]!.post.exactMatch.reliability).toBe(1);
    expect(report.averages.post.locality).not.toBeNull();
    expect(values(lm)).toEqual(before);
    lm.network.dispose();
  }, 60_000);
});
