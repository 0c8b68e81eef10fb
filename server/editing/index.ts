import type { Editor } from './editor';
import { rome } from './rome/method';

/** Every editing method by its id. A typed record: the studio, CLI and benchmarks list it. */
export const EDITORS = {
  rome,
} satisfies Record<string, Editor>;

export type EditorId = keyof typeof EDITORS;

export type { EditContext, EditOutcome, EditProgress, Editor, WeightDelta } from './editor';
