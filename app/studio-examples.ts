import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { withProbeHints, type KnownFact, type StudioExample } from '@/components/studio/examples';
import { exampleFacts, KNOWN_FACTS_FILE } from '@/server/backend/facts';

/** The examples with their paraphrases, neighbours and alternative answers from the same file. */
export async function examplesWithProbes(): Promise<StudioExample[]> {
  const examples = await exampleFacts();
  if (!examples.length) return examples;
  try {
    // One file under the working directory, like exampleFacts reads: nothing to trace for the bundle.
    const known = JSON.parse(await readFile(path.join(/*turbopackIgnore: true*/ process.cwd(), KNOWN_FACTS_FILE), 'utf8')) as KnownFact[];
    return withProbeHints(examples, Array.isArray(known) ? known : []);
  } catch {
    return examples;
  }
}
