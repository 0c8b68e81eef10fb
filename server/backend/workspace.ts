/**
 * What editing a loaded model needs beyond the model: its versions (base + applied edits), its
 * second-moment statistics and its context templates. One per loaded model, made on the first edit.
 * With a version store, every applied edit is saved and the saved ones are applied again when the
 * workspace is made (after a restart), so edits outlive the process.
 */
import type { EditRequest } from '../../lib/editing/request';
import { ContextTemplates } from '../editing/context-templates';
import type { WeightDelta } from '../editing/editor';
import { secondMoments, statsSource } from '../editing/stats/defaults';
import type { SecondMoments } from '../editing/stats/second-moment';
import { TrainedEditorStore } from '../editing/trained/store';
import type { VersionStore } from '../editing/version-store';
import { ModelVersions, type AppliedEdit } from '../editing/versions';
import type { EditableLM } from '../models/editable';

export class EditWorkspace {
  readonly versions: ModelVersions;
  readonly templates: ContextTemplates;
  readonly stats: SecondMoments;
  /** Trained editors (MEND) of this model, under the data directory. */
  readonly trained: TrainedEditorStore;
  /** Set while an edit computes against the current weights: reverting meanwhile would pull them from under it. */
  editing = false;

  constructor(
    readonly lm: EditableLM,
    /** The checkpoint folder or GGUF file (hyper-parameter files, the statistics' cache name). */
    readonly location: string,
    private readonly saved?: { store: VersionStore; model: string },
    /** The data directory trained editors live under (default: $LOCUS_DATA_DIR or .locus). */
    trainedRoot?: string,
  ) {
    this.trained = TrainedEditorStore.forModel(location, trainedRoot);
    this.versions = new ModelVersions(lm);
    this.templates = new ContextTemplates(lm);
    this.stats = secondMoments(lm, location, statsSource(location));
    for (const edit of saved?.store.load(saved.model) ?? []) {
      try {
        this.versions.apply(edit.method, edit.requests, edit.deltas, edit);
      } catch (error) {
        // The checkpoint changed under its saved edits: they cannot apply, and are dropped.
        process.stderr.write(`locus: dropping saved edit ${edit.id} of ${saved!.model}: ${(error as Error).message}\n`);
        saved!.store.remove(saved!.model, edit.id);
      }
    }
  }

  /** Applies an edit as a new version (and saves it). */
  applyEdit(method: string, requests: readonly EditRequest[], deltas: readonly WeightDelta[]): AppliedEdit {
    const edit = this.versions.apply(method, requests, deltas);
    this.saved?.store.add(this.saved.model, edit);
    return edit;
  }

  /** Takes edit `id` out (and forgets it). */
  revertEdit(id: number): void {
    this.versions.revert(id);
    this.saved?.store.remove(this.saved.model, id);
  }
}
