import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { StatsSource } from './second-moment';

/** One sample per non-empty line of a text file (the world model's corpus). */
export function linesSource(file: string, name = path.basename(file)): StatsSource {
  return {
    name: `lines of ${name}`,
    *texts() {
      for (const line of readFileSync(file, 'utf8').split('\n')) if (line.trim()) yield line;
    },
  };
}

/**
 * English sentences found in JSON files (every string of 20+ characters with a space, in file
 * order): for a pretrained model without Wikipedia on disk, the prompts, paraphrases and questions
 * of the editing datasets in ../shared/data/editing are the English text we have offline.
 */
export function jsonSentencesSource(dir: string, files?: readonly string[]): StatsSource {
  const list = files ?? readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  return {
    name: `sentences of ${list.join(', ')}`,
    *texts() {
      const seen = new Set<string>();
      for (const file of list) {
        const stack: unknown[] = [JSON.parse(readFileSync(path.join(dir, file), 'utf8'))];
        while (stack.length) {
          const v = stack.pop();
          if (typeof v === 'string') {
            const text = v.replace('{}', 'it');
            if (text.length >= 20 && text.includes(' ') && !seen.has(text)) {
              seen.add(text);
              yield text;
            }
          } else if (Array.isArray(v)) stack.push(...[...v].reverse());
          else if (v && typeof v === 'object') stack.push(...Object.values(v).reverse());
        }
      }
    },
  };
}
