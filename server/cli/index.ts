/**
 * The Locus command line: `npx locus trace|edit|eval|train ...` (bin/locus.mjs runs this file through tsx).
 * Results go to stdout, progress to stderr. A bad request (a missing option, a subject not in the
 * prompt, a model that is not there...) exits with code 2 and one line; any other failure with 1.
 */
import { ModelLoadError } from '../models/weights';
import { TokenizerError } from '../models/tokenizer';
import { TraceRequestError } from '../tracing';
import { UntrainedEditorError } from '../editing/trained/store';
import { UsageError } from './args';
import * as edit from './edit';
import * as evaluation from './eval';
import * as trace from './trace';
import * as training from './train';

const COMMANDS = {
  trace: { summary: 'causal trace of a fact: which layers and tokens carry it', usage: trace.usage, run: trace.trace },
  edit: { summary: 'rewrite one fact with an editing method; p(target) before and after', usage: edit.usage, run: edit.edit },
  eval: { summary: 'score an editing method on a CounterFact / zsRE / KnowEdit file', usage: evaluation.usage, run: evaluation.evalCommand },
  train: { summary: 'train a method\'s editor network (MEND) on a train split', usage: training.usage, run: training.train },
} satisfies Record<string, { summary: string; usage: string; run: (argv: string[]) => Promise<void> }>;

type CommandName = keyof typeof COMMANDS;

const HELP = `usage: locus <command> [options]   (locus <command> --help for its options)

${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(6)} ${c.summary}`)
  .join('\n')}
`;

/** Errors that mean the request was wrong rather than the program: exit code 2. */
function isRequestError(err: unknown): boolean {
  const parseArgsError = String((err as { code?: unknown } | null)?.code ?? '').startsWith('ERR_PARSE_ARGS');
  return parseArgsError || err instanceof UsageError || err instanceof TraceRequestError || err instanceof ModelLoadError || err instanceof TokenizerError || err instanceof UntrainedEditorError;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? process.stderr : process.stdout).write(HELP);
    return name === undefined ? 2 : 0;
  }
  if (!(name in COMMANDS)) {
    process.stderr.write(`locus: unknown command ${JSON.stringify(name)} (commands: ${Object.keys(COMMANDS).join(', ')})\n`);
    return 2;
  }
  const command = COMMANDS[name as CommandName];
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`usage: ${command.usage}\n`);
    return 0;
  }
  try {
    await command.run(rest);
    return 0;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const clearBar = process.stderr.isTTY ? '\r\x1b[K' : '';
    process.stderr.write(`${clearBar}locus ${name}: ${message.split('\n')[0]}\n`);
    if (process.env.LOCUS_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return isRequestError(err) ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
