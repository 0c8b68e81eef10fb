/**
 * What editing a loaded model needs beyond the model: its versions (base + applied edits), its
 * second-moment statistics and its context templates. One per loaded model, made on the first edit.
 */
import { ContextTemplates } from '../editing/context-templates';
import { secondMoments, statsSource } from '../editing/stats/defaults';
import type { SecondMoments } from '../editing/stats/second-moment';
import { ModelVersions } from '../editing/versions';
import type { LanguageModel } from '../models/lm';

export class EditWorkspace {
  readonly versions: ModelVersions;
  readonly templates: ContextTemplates;
  readonly stats: SecondMoments;
  /** Set while an edit computes against the current weights: reverting meanwhile would pull them from under it. */
  editing = false;

  constructor(
    readonly lm: LanguageModel,
    /** The checkpoint folder or GGUF file (hyper-parameter files, the statistics' cache name). */
    readonly location: string,
  ) {
    this.versions = new ModelVersions(lm.network);
    this.templates = new ContextTemplates(lm);
    this.stats = secondMoments(lm, location, statsSource(location));
  }
}
