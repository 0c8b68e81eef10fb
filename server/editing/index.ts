import { calinet } from './calinet/method';
import type { Editor } from './editor';
import { ftL, ftM } from './ft/method';
import { ke } from './ke/method';
import { kn } from './kn/method';
import { mend } from './mend/method';
import { memit } from './memit/method';
import { rome } from './rome/method';
import { serac } from './serac/method';
import { tpatcher } from './tpatcher/method';

/** Every editing method by its id. A typed record: the studio, CLI and benchmarks list it. */
export const EDITORS = {
  rome,
  'ft-l': ftL,
  'ft-m': ftM,
  memit,
  kn,
  tpatcher,
  calinet,
  mend,
  ke,
  serac,
} satisfies Record<string, Editor>;

export type EditorId = keyof typeof EDITORS;

export type { EditContext, EditOutcome, EditProgress, Editor, WeightDelta } from './editor';
