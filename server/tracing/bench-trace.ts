/**
 * Wall time of causal traces on the CPU backend, and the heatmap summary of each:
 *   npx tsx server/tracing/bench-trace.ts [--model <gguf or checkpoint dir>] [--samples 10]
 *     [--kinds hidden,mlp,attn] [--positions all|key] [--max-batch N] [--prompt ... --subject ... --target ...]
 *     [--out result.json]
 * Without --model: the tiny GPT-2 parity fixture (token ids, no tokenizer) and, when registered,
 * SmolLM2-135M-Instruct on "The Eiffel Tower is located in the city of" -> " Paris".
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TRACE_KINDS, type TraceEvent, type TraceKind, type TraceResult } from '../../lib/tracing';
import { CpuBackend, Engine } from '../engine';
import { loadCheckpointDir, loadLanguageModel } from '../models/load';
import { smollm2Path } from '../models/registry';
import { traceStream, traceTokenStream } from './trace';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    samples: { type: 'string', default: '10' },
    kinds: { type: 'string', default: TRACE_KINDS.join(',') },
    positions: { type: 'string', default: 'all' },
    'max-batch': { type: 'string' },
    /** Writes the SmolLM2 (or --model) result as JSON. */
    out: { type: 'string' },
    prompt: { type: 'string', default: 'The Eiffel Tower is located in the city of' },
    subject: { type: 'string', default: 'The Eiffel Tower' },
    target: { type: 'string', default: ' Paris' },
  },
});
const samples = Number(values.samples);
const kinds = values.kinds!.split(',') as TraceKind[];
const positions = values.positions as 'all' | 'key';
const maxBatch = values['max-batch'] ? Number(values['max-batch']) : undefined;

/** Runs a trace, showing rows as they complete on stderr. */
async function timed(events: AsyncIterable<TraceEvent>): Promise<TraceResult> {
  const started = performance.now();
  for await (const event of events) {
    if (event.type === 'row') process.stderr.write(`\r${event.done}/${event.total} rows, ${((performance.now() - started) / 1000).toFixed(1)} s   `);
    if (event.type === 'done') {
      process.stderr.write('\n');
      return event.result;
    }
  }
  throw new Error('the trace ended without a result');
}

function summary(label: string, result: TraceResult): void {
  const fmt = (x: number | null | undefined) => (x === null || x === undefined ? '  -  ' : x.toFixed(3));
  const { subjectRange, tokens, layers, suggestion } = result;
  const last = tokens.length - 1;
  const subjectLast = subjectRange.end - 1;
  console.log(`\n## ${label}: ${result.seconds.toFixed(1)} s (${kinds.join('+')}, ${samples} samples, positions ${positions}, maxBatch ${maxBatch ?? 'default'})`);
  console.log(`tokens: ${tokens.map((t, i) => (i >= subjectRange.start && i < subjectRange.end ? `[${JSON.stringify(t)}]` : JSON.stringify(t))).join(' ')}`);
  console.log(`target ${JSON.stringify(result.targetToken.text)}: p_clean ${result.pClean.toFixed(4)}, p_corrupted ${result.pCorrupted.toFixed(4)}, total effect ${result.totalEffect.toFixed(4)}, noise ${result.noiseLevel.toFixed(4)}`);
  console.log(`suggested layer ${suggestion.layer} (${suggestion.kind} at the subject's last token ${JSON.stringify(tokens[subjectLast])})`);
  console.log(`| layer | ${result.traces.map((t) => `${t.kind} @subject-last | ${t.kind} @last`).join(' | ')} |`);
  console.log(`|---|${result.traces.map(() => '---|---').join('|')}|`);
  for (let l = 0; l < layers; l++) console.log(`| ${l} | ${result.traces.map((t) => `${fmt(t.effects[l]![subjectLast])} | ${fmt(t.effects[l]![last])}`).join(' | ')} |`);
}

async function main() {
  const engine = new Engine(new CpuBackend());
  console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} x${os.availableParallelism()}`);
  const settings = { kinds, samples, window: 10, seed: 1, positions };
  if (!values.model) {
    const model = await loadCheckpointDir(engine, path.resolve(import.meta.dirname, '../../data/fixtures/parity/gpt2'));
    const ids = [5, 17, 42, 8, 63, 21, 9, 30];
    const input = {
      prompt: '',
      subject: '',
      target: '',
      tokens: ids.map((id) => `<${id}>`),
      tokenIds: ids,
      subjectRange: { start: 1, end: 4 },
      targetToken: { id: 12, text: '<12>' },
    };
    summary('GPT-2 parity fixture (2 layers, d=32)', await timed(traceTokenStream(model, input, { ...settings, noiseLevel: 1 }, { maxBatch })));
    model.dispose();
  }
  const location = values.model ?? smollm2Path();
  if (!location) return;
  const lm = await loadLanguageModel(engine, location);
  const request = { prompt: values.prompt!, subject: values.subject!, target: values.target!, ...settings };
  const result = await timed(traceStream(lm, request, { maxBatch }));
  summary(path.basename(location), result);
  if (values.out) await writeFile(values.out, JSON.stringify(result));
  lm.network.dispose();
}

void main();
