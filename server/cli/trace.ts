/** `locus trace`: where a model stores a fact, as ROME's causal trace (server/tracing) finds it. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TRACE_KINDS, traceRequestSchema, type TraceResult } from '../../lib/tracing';
import { traceStream } from '../tracing';
import { factRequest, integer, issueMessage, required, UsageError } from './args';
import { formatHeatTable } from './heat-table';
import { checkModelPath, loadModel } from './model';
import { Progress } from './progress';

export const usage = `locus trace --model <dir|.gguf> --prompt "<text with the subject>" --subject "<subject>"
    [--target " <object>"] [--kind ${TRACE_KINDS.join(',')}] [--window 10] [--samples 10] [--seed 1] [--json out.json]
  Restores clean states into runs with noise on the subject, layer by layer and token by token, and
  prints a heat table (layers x tokens) of the indirect effects on p(target) per kind. The target
  continues the prompt, with its leading space; default: the model's top-1 next token.`;

export async function trace(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      prompt: { type: 'string' },
      subject: { type: 'string' },
      target: { type: 'string' },
      kind: { type: 'string', default: TRACE_KINDS.join(',') },
      window: { type: 'string' },
      samples: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'string' },
    },
  });
  required(values, ['model', 'prompt', 'subject']);
  // Checked before the model loads; without --target, the target is the model's top-1 (known later).
  const fact = factRequest({ ...values, target: values.target ?? 'top-1' });
  const settings = traceRequestSchema.safeParse({
    prompt: values.prompt,
    subject: fact.subject,
    target: values.target ?? 'top-1',
    kinds: values.kind.split(','),
    window: integer('window', values.window, 1),
    samples: integer('samples', values.samples, 1),
    seed: integer('seed', values.seed),
  });
  if (!settings.success) throw new UsageError(issueMessage(settings.error, (p) => `--${p.startsWith('kinds') ? 'kind' : p}`));
  checkModelPath(values.model!);

  const progress = new Progress();
  const lm = await loadModel(values.model!, progress);
  const target = values.target ?? lm.topK([values.prompt!], 1)[0]![0]!.token;
  let result: TraceResult | undefined;
  for await (const event of traceStream(lm, { ...settings.data, target })) {
    if (event.type === 'clean') progress.log(`clean run: p(${JSON.stringify(event.setup.targetToken.text)}) = ${event.setup.pClean.toFixed(4)}; ${event.rows} rows to trace`);
    else if (event.type === 'row') progress.update('trace', event.done, event.total, `${event.kind} layer ${event.layer}`);
    else result = event.result;
  }
  progress.end();
  lm.network.dispose();
  if (!result) throw new Error('the trace ended without a result');

  const { tokens, subjectRange, targetToken, suggestion } = result;
  const out = process.stdout;
  out.write(`trace of ${JSON.stringify(result.prompt)} -> ${JSON.stringify(result.target)} (its first token ${JSON.stringify(targetToken.text)} is traced), subject ${JSON.stringify(result.subject)}\n`);
  out.write(`p_clean ${result.pClean.toFixed(4)}, p_corrupted ${result.pCorrupted.toFixed(4)}, total effect ${result.totalEffect.toFixed(4)} (noise ${result.noiseLevel.toFixed(4)}, ${result.samples} samples, ${result.seconds.toFixed(1)} s)\n`);
  for (const { kind } of result.traces) out.write(`\n${formatHeatTable(result, kind)}\n`);
  out.write(`\nsuggested layer ${suggestion.layer}: ${suggestion.kind} at the subject's last token ${JSON.stringify(tokens[subjectRange.end - 1])}\n`);
  if (values.json) {
    await mkdir(path.dirname(values.json), { recursive: true });
    await writeFile(values.json, `${JSON.stringify(result)}\n`);
    out.write(`wrote ${values.json}\n`);
  }
}
