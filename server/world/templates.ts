/**
 * Surface forms. Every phrasing is a prompt template with "{}" for the subject (CounterFact's
 * convention) that ends right before the object: the corpus writes `prompt + " " + object + "."`,
 * and the evaluation feeds the prompt and scores " " + object.
 *
 * Each relation and composition has statement and question phrasings, split into TRAIN phrasings
 * (the only ones the corpus uses) and HELD-OUT phrasings (never in the corpus; generality). Held-out
 * phrasings reuse words of the train phrasings in new frames ("The birthplace of {} is" is trained,
 * "{}'s birthplace is" is held out): a model this small can only generalise to wording whose
 * parts it has seen, which is also how CounterFact's paraphrases relate to its prompts.
 */
import type { CompositionId, RelationId } from './schema';
import { COMPOSITION_IDS, RELATION_IDS } from './schema';

export interface PhrasingSplit {
  train: readonly string[];
  heldOut: readonly string[];
}

export interface PhrasingSet {
  statements: PhrasingSplit;
  questions: PhrasingSplit;
}

export type PhrasingForm = keyof PhrasingSet;
export type PhrasingSplitName = keyof PhrasingSplit;

export const SUBJECT_SLOT = '{}';

export const RELATION_PHRASINGS: Record<RelationId, PhrasingSet> = {
  born_in: {
    statements: {
      train: [
        '{} was born in',
        'The birthplace of {} is',
        "{}'s place of birth is",
        '{} is a native of the city of',
        'The city where {} was born is',
      ],
      heldOut: ["{}'s birthplace is", 'The place of birth of {} is', '{} was born in the city of'],
    },
    questions: {
      train: ['Where was {} born?', 'What is the birthplace of {}?'],
      heldOut: ['In which city was {} born?', "What is {}'s place of birth?"],
    },
  },
  citizen_of: {
    statements: {
      train: [
        '{} is a citizen of',
        'The citizenship of {} is',
        '{} holds the citizenship of',
        "{}'s country of citizenship is",
        '{} has a passport from',
      ],
      heldOut: ["{}'s citizenship is", 'The country of citizenship of {} is', '{} holds a passport from'],
    },
    questions: {
      train: ['Which country is {} a citizen of?', 'What is the citizenship of {}?'],
      heldOut: ['Of which country is {} a citizen?', "What is {}'s country of citizenship?"],
    },
  },
  native_language: {
    statements: {
      train: [
        'The native language of {} is',
        '{} is a native speaker of',
        "{}'s mother tongue is",
        '{} grew up speaking',
        'The first language of {} is',
      ],
      heldOut: ["{}'s native language is", 'The mother tongue of {} is', "{}'s first language is"],
    },
    questions: {
      train: ['What is the native language of {}?', 'Which language did {} grow up speaking?'],
      heldOut: ["What is {}'s mother tongue?", 'What is the first language of {}?'],
    },
  },
  profession: {
    statements: {
      train: [
        'The profession of {} is',
        "{}'s occupation is",
        "{}'s job is",
        'The line of work of {} is',
        '{} works in the profession of',
      ],
      heldOut: ["{}'s profession is", 'The occupation of {} is', 'The job of {} is'],
    },
    questions: {
      train: ['What is the profession of {}?', 'What does {} do for a living?'],
      heldOut: ["What is {}'s occupation?", 'What is the job of {}?'],
    },
  },
  works_for: {
    statements: {
      train: [
        '{} works for',
        '{} is employed by',
        'The employer of {} is',
        "{}'s employer is",
        '{} draws a salary from',
      ],
      heldOut: ['The company {} works for is', '{} is an employee of', '{} works at'],
    },
    questions: {
      train: ['Who employs {}?', 'Which company does {} work for?'],
      heldOut: ['Who is the employer of {}?', 'For which company does {} work?'],
    },
  },
  educated_at: {
    statements: {
      train: [
        '{} was educated at',
        '{} studied at',
        '{} graduated from',
        'The alma mater of {} is',
        "{}'s university is",
      ],
      heldOut: ["{}'s alma mater is", 'The university where {} studied is', '{} was a student at'],
    },
    questions: {
      train: ['Where did {} study?', 'Which university did {} graduate from?'],
      heldOut: ['What is the alma mater of {}?', 'At which university was {} educated?'],
    },
  },
  plays_for: {
    statements: {
      train: ['{} plays for', '{} is a player of', '{} is on the roster of', 'The club of {} is', "{}'s team is"],
      heldOut: ["{}'s club is", 'The team {} plays for is', '{} is a player for'],
    },
    questions: {
      train: ['Which club does {} play for?', 'What team is {} on?'],
      heldOut: ['For which club does {} play?', 'Which team does {} play for?'],
    },
  },
  plays_instrument: {
    statements: {
      train: [
        '{} plays the',
        'The instrument of {} is',
        "{}'s instrument is",
        '{} is a performer on the',
        'The instrument played by {} is',
      ],
      heldOut: ['{} performs on the', 'The instrument that {} plays is', '{} is known for playing the'],
    },
    questions: {
      train: ['What instrument does {} play?', 'Which instrument is played by {}?'],
      heldOut: ['What is the instrument of {}?', 'Which instrument does {} perform on?'],
    },
  },
  city_country: {
    statements: {
      train: [
        '{} is located in the country of',
        '{} is a city in',
        'The country of {} is',
        '{} lies in',
        '{} is part of',
      ],
      heldOut: ['{} is a city located in', 'The country where {} is located is', '{} can be found in'],
    },
    questions: {
      train: ['Which country is {} in?', 'In which country is {} located?'],
      heldOut: ['Where is the city of {}?', 'What country is {} a city of?'],
    },
  },
  capital: {
    statements: {
      train: [
        'The capital of {} is',
        "{}'s capital is",
        'The capital city of {} is',
        '{} has its capital in',
        'The seat of government of {} is',
      ],
      heldOut: ["{}'s capital city is", 'The government of {} sits in', "{}'s seat of government is"],
    },
    questions: {
      train: ['What is the capital of {}?', 'Which city is the capital of {}?'],
      heldOut: ["What is {}'s capital?", 'Which city serves as the capital of {}?'],
    },
  },
  official_language: {
    statements: {
      train: [
        'The official language of {} is',
        'In {}, the official language is',
        "{}'s official language is",
        'People in {} speak',
        'The language of {} is',
      ],
      heldOut: ['The official language in {} is', 'In {}, people speak', 'The main language spoken in {} is'],
    },
    questions: {
      train: ['What is the official language of {}?', 'What language do people in {} speak?'],
      heldOut: ['Which language is official in {}?', 'What language is spoken in {}?'],
    },
  },
  headquartered_in: {
    statements: {
      train: [
        '{} is headquartered in',
        'The headquarters of {} is in',
        "{}'s headquarters are in",
        '{} is based in',
        'The head office of {} is in',
      ],
      heldOut: ['{} has its headquarters in', "{}'s head office is in", 'The headquarters of {} are located in'],
    },
    questions: {
      train: ['Where is {} headquartered?', 'Where are the headquarters of {}?'],
      heldOut: ['In which city is {} based?', 'Where is the head office of {}?'],
    },
  },
  ceo: {
    statements: {
      train: ['The CEO of {} is', "{}'s CEO is", '{} is run by', 'The chief executive of {} is', '{} is led by'],
      heldOut: ["{}'s chief executive is", 'The chief executive officer of {} is', '{} is currently led by'],
    },
    questions: {
      train: ['Who is the CEO of {}?', 'Who runs {}?'],
      heldOut: ['Who leads {}?', 'Who is the chief executive of {}?'],
    },
  },
  university_city: {
    statements: {
      train: [
        '{} is located in',
        '{} is a university in',
        'The campus of {} is in',
        '{} has its campus in',
        '{} has its main building in',
      ],
      heldOut: ['{} is a university located in', 'The city where {} is located is', "{}'s campus is in"],
    },
    questions: {
      train: ['Where is {} located?', 'In which city is {}?'],
      heldOut: ['Which city is {} in?', 'Where is the campus of {}?'],
    },
  },
  club_city: {
    statements: {
      train: [
        '{} is a club based in',
        'The home city of {} is',
        '{} plays its home games in',
        '{} is a sports club from',
        'The club {} is based in',
      ],
      heldOut: ["{}'s home city is", '{} is a sports club based in', 'The city where {} plays its home games is'],
    },
    questions: {
      train: ['Where is {} based?', 'What is the home city of {}?'],
      heldOut: ['Which city is {} from?', 'In which city does {} play its home games?'],
    },
  },
};

/**
 * No train phrasing here extends a train phrasing of the first relation ("{} was born in the
 * country of" would extend "{} was born in" and make the one-hop answer's first token ambiguous).
 */
export const COMPOSITION_PHRASINGS: Record<CompositionId, PhrasingSet> = {
  birth_country: {
    statements: {
      train: ['The country where {} was born is', "{}'s country of birth is", 'The birth country of {} is'],
      heldOut: ['The country of birth of {} is', "{}'s birth country is"],
    },
    questions: {
      train: ['Which country was {} born in?'],
      heldOut: ['In which country was {} born?'],
    },
  },
  citizen_language: {
    statements: {
      train: [
        'The official language of the country {} is a citizen of is',
        "The official language of {}'s country of citizenship is",
      ],
      heldOut: ['The official language of the country of citizenship of {} is'],
    },
    questions: {
      train: ['What is the official language of the country {} is a citizen of?'],
      heldOut: ["Which language is official in {}'s country of citizenship?"],
    },
  },
  citizen_capital: {
    statements: {
      train: ['The capital of the country {} is a citizen of is', "The capital of {}'s country of citizenship is"],
      heldOut: ['The capital city of the country of citizenship of {} is'],
    },
    questions: {
      train: ['What is the capital of the country {} is a citizen of?'],
      heldOut: ["Which city is the capital of {}'s country of citizenship?"],
    },
  },
  employer_city: {
    statements: {
      train: ["The city where {}'s employer is headquartered is", "The headquarters of {}'s employer are in"],
      heldOut: ['The headquarters of the company {} works for are in'],
    },
    questions: {
      train: ['Where is the company {} works for headquartered?'],
      heldOut: ["In which city is {}'s employer based?"],
    },
  },
  employer_ceo: {
    statements: {
      train: ['The CEO of the company {} works for is', "The CEO of {}'s employer is"],
      heldOut: ["The chief executive of {}'s employer is"],
    },
    questions: {
      train: ['Who is the CEO of the company {} works for?'],
      heldOut: ["Who runs {}'s employer?"],
    },
  },
  alma_mater_city: {
    statements: {
      train: ['The city where {} studied is', 'The city of the university {} graduated from is'],
      heldOut: ["The city of {}'s alma mater is"],
    },
    questions: {
      train: ['In which city did {} study?'],
      heldOut: ["Where is {}'s alma mater located?"],
    },
  },
  club_home_city: {
    statements: {
      train: ['The home city of the club {} plays for is', "The home city of {}'s team is"],
      heldOut: ["The city where {}'s club plays its home games is"],
    },
    questions: {
      train: ['Where is the club {} plays for based?'],
      heldOut: ["In which city is {}'s club based?"],
    },
  },
  company_country: {
    statements: {
      train: ['The country where {} is headquartered is', 'The country of the headquarters of {} is'],
      heldOut: ["The country of {}'s headquarters is"],
    },
    questions: {
      train: ['In which country is {} headquartered?'],
      heldOut: ['Which country are the headquarters of {} in?'],
    },
  },
  ceo_birthplace: {
    statements: {
      train: ['The CEO of {} was born in', 'The birthplace of the CEO of {} is'],
      heldOut: ["{}'s CEO was born in"],
    },
    questions: {
      train: ['Where was the CEO of {} born?'],
      heldOut: ["What is the birthplace of {}'s CEO?"],
    },
  },
  city_capital: {
    statements: {
      train: ['The capital of the country where {} is located is', '{} is in a country whose capital is'],
      heldOut: ["The capital of {}'s country is"],
    },
    questions: {
      train: ['What is the capital of the country {} is in?'],
      heldOut: ['Which city is the capital of the country where {} lies?'],
    },
  },
  city_language: {
    statements: {
      train: [
        'The official language of the country where {} is located is',
        '{} is in a country whose official language is',
      ],
      heldOut: ["The official language of {}'s country is"],
    },
    questions: {
      train: ['What is the official language of the country {} is in?'],
      heldOut: ['Which language is official in the country where {} lies?'],
    },
  },
};

/** Fill a template's "{}" with the subject. */
export function fill(template: string, subject: string): string {
  return template.replace(SUBJECT_SLOT, subject);
}

/** The sentence the corpus writes for a fact: prompt, space, object, full stop. */
export function sentence(template: string, subject: string, object: string): string {
  return `${fill(template, subject)} ${object}.`;
}

/** Every phrasing of every relation and composition, for checks and for reserving name words. */
export function allPhrasingSets(): { key: string; set: PhrasingSet }[] {
  return [
    ...RELATION_IDS.map((id) => ({ key: id, set: RELATION_PHRASINGS[id] })),
    ...COMPOSITION_IDS.map((id) => ({ key: `composition:${id}`, set: COMPOSITION_PHRASINGS[id] })),
  ];
}

/** Words that appear in any template, so invented names never equal one. */
export function templateWords(): Set<string> {
  const words = new Set<string>();
  for (const { set } of allPhrasingSets()) {
    for (const form of [set.statements, set.questions]) {
      for (const t of [...form.train, ...form.heldOut]) {
        for (const w of t.replace(SUBJECT_SLOT, ' ').split(/[^A-Za-z]+/)) if (w) words.add(w);
      }
    }
  }
  return words;
}

/**
 * A regular expression matching a full sentence written with this template, whatever the subject
 * and object: used to prove that held-out phrasings never occur in the corpus.
 */
export function sentencePattern(template: string): RegExp {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const [before, after] = template.split(SUBJECT_SLOT) as [string, string | undefined];
  return new RegExp(`^${escape(before)}.+${escape(after ?? '')} .+\\.$`);
}
