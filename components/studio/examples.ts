/**
 * Example facts with what an edit of them is scored on, drawn from the world's known facts
 * (data/world/probes/known-facts.json): the same fact in other trained phrasings (generality), other
 * subjects of the relation with the same answer, CounterFact's neighbourhood (locality), and the
 * relation's other answers, offered as new targets. Pure: the page reads the file and calls this.
 */
import type { ExampleFact } from '@/lib/api';

export interface NeighbourProbe {
  prompt: string;
  /** The answer the model should keep, without its leading space. */
  answer: string;
}

export interface StudioExample extends ExampleFact {
  paraphrases?: string[];
  neighbours?: NeighbourProbe[];
  /** Other answers of the relation: plausible new targets. */
  alternatives?: string[];
  /** Questions whose answer follows from the edit (dataset records carry them). */
  portability?: NeighbourProbe[];
}

/** One line of known-facts.json (fields the studio reads). */
export interface KnownFact {
  prompt: string;
  answer: string;
  subject: string;
  relation: string;
  form: string;
  phrasing: string;
}

export const PROBES_PER_KIND = 3;
export const ALTERNATIVES = 8;

export function withProbeHints(examples: readonly ExampleFact[], known: readonly KnownFact[]): StudioExample[] {
  const statements = known.filter((k) => k.form === 'statements');
  return examples.map((example) => {
    const ofRelation = statements.filter((k) => k.relation === example.relation);
    const paraphrases = unique(ofRelation.filter((k) => k.subject === example.subject && k.prompt !== example.prompt).map((k) => k.prompt));
    const others = ofRelation.filter((k) => k.subject !== example.subject && k.phrasing === 'train' && !k.prompt.includes(example.subject));
    // CounterFact's neighbourhood: other subjects that share the true answer; others when too few do.
    const neighbours = [...others.filter((k) => k.answer === example.answer), ...others.filter((k) => k.answer !== example.answer)];
    const seen = new Set<string>();
    return {
      ...example,
      paraphrases: paraphrases.slice(0, PROBES_PER_KIND),
      neighbours: neighbours
        .filter((k) => !seen.has(k.subject) && seen.add(k.subject))
        .slice(0, PROBES_PER_KIND)
        .map((k) => ({ prompt: k.prompt, answer: k.answer })),
      alternatives: unique(ofRelation.map((k) => k.answer).filter((a) => a !== example.answer)).slice(0, ALTERNATIVES),
    };
  });
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
