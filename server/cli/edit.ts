/** `locus edit`: rewrites one fact with one method and shows p(target) before and after. */
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fillPrompt } from '../../lib/editing/request';
import { ContextTemplates } from '../editing/context-templates';
import { TrainedEditorStore } from '../editing/trained/store';
import { EDITORS } from '../editing/index';
import { ModelVersions } from '../editing/versions';
import type { LanguageModel } from '../models/lm';
import { editorId, factRequest, hparamsJson, integer, methodHparams, required } from './args';
import { checkModelPath, cliSecondMoments, cliStatsSource, loadModel, seconds } from './model';
import { Progress } from './progress';

export const usage = `locus edit --model <dir|.gguf> --method ${Object.keys(EDITORS).join('|')} --prompt "<text with the subject>"
    --subject "<subject>" --target " <new object>" [--hparams '{"layer":1}'] [--save <dir>]
    [--stats-text <file.txt | dir of .json>] [--stats-tokens 50000]
  Applies one edit and prints p(target | prompt) before and after it; --save writes the edited model
  as a checkpoint folder. The target continues the prompt, with its leading space.`;

export async function edit(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      method: { type: 'string' },
      prompt: { type: 'string' },
      subject: { type: 'string' },
      target: { type: 'string' },
      hparams: { type: 'string' },
      save: { type: 'string' },
      'stats-text': { type: 'string' },
      'stats-tokens': { type: 'string' },
    },
  });
  required(values, ['model', 'method', 'prompt', 'subject', 'target']);
  const method = editorId(values.method!);
  const request = factRequest(values);
  const given = hparamsJson(values.hparams);
  const statsTokens = integer('stats-tokens', values['stats-tokens'], 1);
  checkModelPath(values.model!);
  const source = cliStatsSource(values.model!, values['stats-text']);

  const progress = new Progress();
  const lm = await loadModel(values.model!, progress);
  const editor = EDITORS[method];
  const hparams = methodHparams(method, lm, given, values.model);

  const prompt = fillPrompt(request).text;
  const out = process.stdout;
  out.write(`${editor.name} edit of ${JSON.stringify(prompt)} (subject ${JSON.stringify(request.subject)}) -> ${JSON.stringify(request.targetNew)}\n`);
  out.write(`hparams ${JSON.stringify(hparams)}\n`);
  out.write(`before: ${describe(lm, prompt, request.targetNew)}\n`);

  const started = performance.now();
  const stats = cliSecondMoments(lm, values.model!, source, statsTokens, progress);
  const outcome = await editor.apply(
    {
      lm,
      stats,
      templates: new ContextTemplates(lm),
      trained: TrainedEditorStore.forModel(values.model!),
      onProgress: (e) => {
        if (e.type === 'stage') progress.log(`  ${e.stage}${e.detail ? `: ${e.detail}` : ''}`);
        else if (e.type === 'step') progress.update('  optimising', e.step + 1, undefined, `loss ${e.loss.toFixed(4)}`);
      },
    },
    [request],
    hparams as never,
  );
  progress.end();
  const versions = new ModelVersions(lm);
  versions.apply(editor.name, [request], outcome.deltas);
  out.write(`after:  ${describe(lm, prompt, request.targetNew)}\n`);
  const changed = outcome.deltas.map((d) => `${d.param} (${d.kind === 'lowRank' ? `rank ${d.rank}` : d.kind === 'ffnSlots' ? `${d.count} added ${d.activation} slot(s)` : d.kind === 'memory' ? `${d.entries.length} edit(s) in the memory beside the weights` : 'dense'})`);
  out.write(`edit took ${seconds(started)} s; changed ${changed.join(', ') || 'nothing'}\n`);
  const backend = lm.engine.backend;
  if (backend.peakBytes !== undefined) out.write(`peak GPU memory ${(backend.peakBytes / 2 ** 30).toFixed(2)} GiB (${backend.name}, weights included)\n`);
  const numbers = Object.entries(outcome.stats).map(([k, v]) => `${k} ${typeof v === 'number' ? Number(v.toPrecision(4)) : v}`);
  if (numbers.length) out.write(`${numbers.join(', ')}\n`);
  if (values.save) {
    const isFolder = statSync(values.model!).isDirectory();
    await versions.export(values.save, isFolder ? values.model : undefined);
    out.write(`saved the edited model to ${values.save}\n`);
  }
  versions.dispose();
  lm.network.dispose();
}

/** p(target | prompt), the whole target teacher-forced, and the model's top-1 next token. */
function describe(lm: LanguageModel, prompt: string, target: string): string {
  const p = Math.exp(lm.score([{ prompt, target }])[0]!.logProb);
  const top = lm.topK([prompt], 1)[0]![0]!;
  return `p(${JSON.stringify(target)}) = ${probability(p)}; top-1 ${JSON.stringify(top.token)} ${probability(top.prob)}`;
}

function probability(p: number): string {
  return p >= 1e-3 ? p.toFixed(4) : p.toExponential(2);
}
