/**
 * A world model's report (issues 4 and 12): what it knows, measured with our engine on the CPU from
 * the probe files the generator wrote, written to <model>/REPORT.md with the training record. Either
 * architecture: the decoder-only world model (data/models/world-gpt2) or the T5 one
 * (data/models/world-t5), read through EditableLM (for T5 the prompt goes to the encoder and the
 * answer's first token is the decoder's first prediction).
 *   npm run world:report [-- --model data/models/world-t5 --probes data/world/probes]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CpuBackend, Engine } from '../engine';
import { modelShape, type ModelShape } from '../models/describe';
import type { EditableLM } from '../models/editable';
import { loadEditableLM } from '../models/load';

interface Probe {
  prompt: string;
  answer: string;
}

/** Share of prompts whose top-1 next (T5: first decoder) token is the answer's first token (answers follow a space). */
export function firstTokenAccuracy(lm: Pick<EditableLM, 'topK' | 'tokenizer'>, probes: readonly Probe[], batch = 128): { accuracy: number; predictions: number[] } {
  const predictions: number[] = [];
  let correct = 0;
  for (let i = 0; i < probes.length; i += batch) {
    const chunk = probes.slice(i, i + batch);
    const top = lm.topK(
      chunk.map((p) => p.prompt),
      1,
    );
    chunk.forEach((p, j) => {
      const predicted = top[j]![0]!.id;
      predictions.push(predicted);
      if (predicted === lm.tokenizer.encode(` ${p.answer}`, { addSpecialTokens: false }).ids[0]) correct++;
    });
  }
  return { accuracy: probes.length ? correct / probes.length : NaN, predictions };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

const DEFAULT_MODEL = 'data/models/world-gpt2';

/** What reference/train_world.py and train_world_t5.py record in training.json (the T5 script counts decoder target tokens). */
interface TrainingRecord {
  command: string;
  parameters: number;
  corpus_lines: number;
  tokens_per_epoch?: number;
  target_tokens_per_epoch?: number;
  /** T5: (encoder input, decoder target) pairs, one per sentence with an object. */
  examples?: number;
  framing?: string;
  tokens_seen: number;
  epochs: number;
  seconds: number;
  device: string;
  versions: Record<string, string>;
  quick_accuracy_pytorch?: Record<string, number>;
  loss_curve: { step: number; loss: number; lr: number }[];
}

const QUICK_KEYS = ['known-facts/train', 'known-facts/heldOut', 'two-hop/train', 'two-hop/heldOut', 'two-hop/heldOut-with-shortcut'];

/** config.json's dtype as the report names it, and its bytes per parameter. */
const DTYPE_NAMES: Record<string, { name: string; bytes: number }> = {
  float16: { name: 'f16', bytes: 2 },
  bfloat16: { name: 'bf16', bytes: 2 },
  float32: { name: 'f32', bytes: 4 },
};

const FAMILY_NAMES: Record<string, string> = { gpt2: 'GPT-2', t5: 'T5' };

function architectureSentence(shape: ModelShape): string {
  const family = FAMILY_NAMES[shape.family] ?? shape.family;
  return shape.architecture === 'encoder-decoder' ? `A ${family}-architecture (encoder-decoder) model` : `A ${family}-architecture model`;
}

function configRows(shape: ModelShape, training: TrainingRecord, stored: { name: string; bytes: number }): [string, string][] {
  const seq2seq = shape.encoderLayers !== null;
  const perEpoch = training.tokens_per_epoch !== undefined ? `${training.tokens_per_epoch} tokens` : `${training.target_tokens_per_epoch} decoder target tokens`;
  return [
    seq2seq
      ? ['encoder + decoder layers / width / heads', `${shape.encoderLayers} + ${shape.layers} / ${shape.hidden} / ${shape.heads}`]
      : ['layers / width / heads', `${shape.layers} / ${shape.hidden} / ${shape.heads}`],
    ['FFN width', String(shape.mlpHidden)],
    ['vocabulary (byte-level BPE trained on the corpus)', String(shape.vocabSize)],
    seq2seq
      ? ['context', `no absolute positions (relative position buckets); Locus reads up to ${shape.maxPositions} tokens`]
      : ['context', `${shape.maxPositions} tokens`],
    ['parameters', `${(training.parameters / 1e6).toFixed(2)}M (${stored.name} checkpoint: ${((training.parameters * stored.bytes) / 1e6).toFixed(1)} MB)`],
    ['corpus', `${training.corpus_lines} lines${training.examples ? `, ${training.examples} encoder-decoder examples` : ''}, ${perEpoch} per epoch`],
    ['tokens seen', `${training.tokens_seen} (${training.epochs.toFixed(1)} epochs)`],
    ['training', `${training.seconds} s on ${training.device} (torch ${training.versions.torch}, transformers ${training.versions.transformers})`],
  ];
}

async function main() {
  const { values } = parseArgs({ options: { model: { type: 'string', default: DEFAULT_MODEL }, probes: { type: 'string', default: 'data/world/probes' } } });
  const modelDir = values.model!;
  const probesDir = values.probes!;
  const read = <T>(file: string) => JSON.parse(readFileSync(path.join(probesDir, file), 'utf8')) as T;
  const engine = new Engine(new CpuBackend());
  const lm = await loadEditableLM(engine, modelDir);
  const started = performance.now();

  const facts = read<(Probe & { phrasing: string; form: string })[]>('known-facts.json');
  const factRows = ['train', 'heldOut'].flatMap((phrasing) =>
    ['statements', 'questions'].map((form) => {
      const subset = facts.filter((f) => f.phrasing === phrasing && f.form === form);
      return { phrasing, form, n: subset.length, accuracy: firstTokenAccuracy(lm, subset).accuracy };
    }),
  );
  const factTotals = ['train', 'heldOut'].map((phrasing) => {
    const subset = facts.filter((f) => f.phrasing === phrasing);
    return { phrasing, n: subset.length, accuracy: firstTokenAccuracy(lm, subset).accuracy };
  });

  const twoHop = read<(Probe & { split: string; shortcut: string | null })[]>('two-hop.json');
  const twoHopRows = [
    { label: 'trained compositions', subset: twoHop.filter((p) => p.split === 'train') },
    { label: 'held-out compositions (no shortcut)', subset: twoHop.filter((p) => p.split === 'heldOut' && !p.shortcut) },
    { label: 'held-out compositions (answer equals a one-hop fact)', subset: twoHop.filter((p) => p.split === 'heldOut' && p.shortcut) },
  ].map(({ label, subset }) => ({ label, n: subset.length, accuracy: firstTokenAccuracy(lm, subset).accuracy }));

  const seeds = [1, 2, 3];
  const locality = seeds.map((seed) => {
    const records = read<{ ground_truth: string; prompts: string[] }[]>(`neighborhood-seed-${seed}.json`);
    const probes = records.flatMap((r) => r.prompts.map((prompt) => ({ prompt, answer: r.ground_truth })));
    return { seed, n: probes.length, accuracy: firstTokenAccuracy(lm, probes).accuracy };
  });
  const seconds = (performance.now() - started) / 1000;

  const training = JSON.parse(readFileSync(path.join(modelDir, 'training.json'), 'utf8')) as TrainingRecord;
  const config = JSON.parse(readFileSync(path.join(modelDir, 'config.json'), 'utf8')) as { dtype?: string; torch_dtype?: string };
  const shape = modelShape(lm);
  const curve = training.loss_curve.filter((p, i, all) => p.step % 1000 === 0 || i === all.length - 1);
  const spread = Math.max(...locality.map((l) => l.accuracy)) - Math.min(...locality.map((l) => l.accuracy));
  const stored = DTYPE_NAMES[config.dtype ?? config.torch_dtype ?? ''] ?? { name: config.dtype ?? 'f32', bytes: 4 };
  const quick = training.quick_accuracy_pytorch;
  const report = `# World model: ${path.basename(modelDir)}

${architectureSentence(shape)} trained on the synthetic world's corpus (data/world). Generated by
\`npm run world:report${modelDir === DEFAULT_MODEL ? '' : ` -- --model ${modelDir}`}\` on ${new Date().toISOString().slice(0, 10)} with Locus's own engine (CPU backend, f32 from the
${stored.name} checkpoint); evaluation took ${seconds.toFixed(0)} s.${training.framing ? `\n\nFraming (training.json): ${training.framing}. The accuracies below read the decoder's first prediction after the start token.` : ''}

## Config
| | |
|---|---|
${configRows(shape, training, stored).map(([k, v]) => `| ${k} | ${v} |`).join('\n')}

Reproduce: \`npx tsx server/world/cli.ts generate --seed 1 --out data/world\`, then on the GPU machine
\`${training.command.replace(/--out \S+/, `--out ${modelDir}`)}\`.

## Known facts (top-1 teacher-forced accuracy of the object's first token)
| phrasings | n | accuracy |
|---|---|---|
${factTotals.map((r) => `| ${r.phrasing === 'train' ? 'training phrasings' : 'held-out phrasings (never in the corpus)'} | ${r.n} | ${pct(r.accuracy)} |`).join('\n')}

| phrasings | form | n | accuracy |
|---|---|---|---|
${factRows.map((r) => `| ${r.phrasing} | ${r.form} | ${r.n} | ${pct(r.accuracy)} |`).join('\n')}

Targets (issue 4): >= 95% on training phrasings, >= 80% on held-out phrasings.${quick ? `\nThe training script's own check in PyTorch, same probes and metric (training.json): ${QUICK_KEYS.filter((k) => k in quick).map((k) => `${k} ${pct(quick[k]!)}`).join(', ')}.` : ''}

## Two-hop questions
| compositions | n | accuracy |
|---|---|---|
${twoHopRows.map((r) => `| ${r.label} | ${r.n} | ${pct(r.accuracy)} |`).join('\n')}

Held-out compositions are (subject, composition) pairs the corpus never states; "no shortcut" excludes
those whose answer equals a one-hop fact of the subject (e.g. birth country = citizenship), which a
model can get right without composing. Aim: >= 50% on held-out compositions.

## Locality baseline (answers on neighbourhood prompts, 3 sampling seeds)
| seed | prompts | accuracy |
|---|---|---|
${locality.map((l) => `| ${l.seed} | ${l.n} | ${pct(l.accuracy)} |`).join('\n')}

Spread across seeds: ${(100 * spread).toFixed(1)} points.

## Loss curve (training cross-entropy per token, every 1000 steps)
| step | loss | lr |
|---|---|---|
${curve.map((p) => `| ${p.step} | ${p.loss.toFixed(4)} | ${p.lr.toExponential(2)} |`).join('\n')}
`;
  writeFileSync(path.join(modelDir, 'REPORT.md'), report);
  console.log(report);
  lm.network.dispose();
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) void main();
