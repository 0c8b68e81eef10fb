/**
 * Pronounceable invented names from seeded syllables. A registry keeps every name word unique and
 * prefix-free across the whole world ("Tavi" and "Tavira" never both exist), so that a byte-level
 * BPE tokenizer cannot give two different entities the same leading token by accident, and no
 * name collides with a word of the templates.
 */
import type { Rng } from './rng';

// Single consonants are listed several times so that clusters stay rare.
const ONSETS = [
  'b', 'd', 'f', 'g', 'h', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'z',
  'b', 'd', 'k', 'l', 'm', 'n', 'r', 's', 't', 'v',
  'br', 'dr', 'gr', 'kr', 'tr', 'st', 'th', 'sh', 'pl', 'fl',
];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'a', 'e', 'i', 'o', 'a', 'ai', 'ei', 'ou'];
/** Joins a vowel-final stem to a vowel-initial ending ("Tari" + "v" + "a"). */
const LINKS = ['n', 'r', 'l', 's', 'd', 't', 'm', 'v'];

/** Endings give each entity type a recognisable flavour without tying it to another entity. */
export const NAME_STYLES = {
  given: { syllables: [2, 2, 1], endings: ['', '', 'a', 'o', 'an', 'el', 'in', 'is', 'en'] },
  family: { syllables: [1, 2], endings: ['son', 'ov', 'ard', 'ine', 'ek', 'ell', 'ani', 'ez', 'berg', 'ski', 'ton'] },
  city: { syllables: [1, 2], endings: ['a', 'o', 'burg', 'mar', 'ton', 'is', 'era', 'ford', 'holm', 'ssa', 'vik'] },
  country: { syllables: [1, 2], endings: ['ia', 'land', 'stan', 'ora', 'ica', 'ovia', 'onia', 'mark'] },
  language: { syllables: [1, 2], endings: ['ish', 'ic', 'ese', 'ian', 'i', 'ot', 'ul'] },
  stem: { syllables: [1, 2], endings: ['ex', 'ix', 'on', 'ara', 'ta', 'co', 'tek', 'va', 'ium', 'or'] },
} as const;
export type NameStyle = keyof typeof NAME_STYLES;

const MIN_LENGTH = 4;
const MAX_LENGTH = 10;
const MAX_TRIES = 10_000;

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

export class NameRegistry {
  private readonly words = new Set<string>();
  private readonly shortReserved = new Set<string>();

  /**
   * Reserve words (of templates, of name suffixes such as "University") that no invented name may
   * equal; reserved words of MIN_LENGTH letters or more are also kept prefix-free with names.
   */
  reserve(words: Iterable<string>): void {
    for (const w of words) {
      const lower = w.toLowerCase();
      if (lower.length >= MIN_LENGTH) this.words.add(lower);
      else this.shortReserved.add(lower);
    }
  }

  /** True if `word` is already used, or is a prefix of a used word, or starts with one. */
  conflicts(word: string): boolean {
    const lower = word.toLowerCase();
    if (this.shortReserved.has(lower)) return true;
    for (const used of this.words) {
      if (used.startsWith(lower) || lower.startsWith(used)) return true;
    }
    return false;
  }

  /** A fresh word in the given style; registered so it is never produced again. */
  invent(rng: Rng, style: NameStyle): string {
    const { syllables, endings } = NAME_STYLES[style];
    for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
      const count = rng.pick(syllables);
      let word = '';
      for (let i = 0; i < count; i++) word += rng.pick(ONSETS) + rng.pick(VOWELS);
      const ending: string = rng.pick(endings);
      if (/^[aeiou]/.test(ending)) word += rng.pick(LINKS);
      word += ending;
      if (word.length < MIN_LENGTH || word.length > MAX_LENGTH) continue;
      if (/(.)\1\1/.test(word)) continue; // hard to read
      if (this.conflicts(word)) continue;
      this.words.add(word);
      return capitalize(word);
    }
    throw new Error(`NameRegistry.invent: no fresh ${style} name after ${MAX_TRIES} tries`);
  }
}
