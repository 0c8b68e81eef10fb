/**
 * What editing a loaded model needs beyond the model: its versions (base + applied edits), its
 * second-moment statistics and its context templates. One per loaded model, made on the first edit.
 * With a version store, every applied edit is saved and `restoreSaved` applies the saved ones again
 * (after a restart), so edits outlive the process.
 */
import type { EditRequest } from '../../lib/editing/request';
import { ContextTemplates } from '../editing/context-templates';
import type { EditContext, WeightDelta } from '../editing/editor';
import { EDITORS, type EditorId } from '../editing/index';
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
  }

  /** What an editor reads besides the model: this workspace's statistics, templates and trained editors. */
  context(extra: Pick<EditContext, 'onProgress' | 'signal'> = {}): EditContext {
    return { lm: this.lm, stats: this.stats, templates: this.templates, trained: this.trained, ...extra };
  }

  /**
   * Applies the edits saved by an earlier process, oldest first. A memory delta (SERAC) gets its
   * trained networks back from its method first. An edit that cannot apply (the checkpoint changed
   * under it, its trained editor is gone) is dropped, saying why.
   */
  async restoreSaved(): Promise<void> {
    const saved = this.saved;
    if (!saved) return;
    for (const edit of saved.store.load(saved.model)) {
      try {
        for (const d of edit.deltas) {
          if (d.kind !== 'memory') continue;
          const revive = Object.hasOwn(EDITORS, d.method) ? EDITORS[d.method as EditorId].revive : undefined;
          if (!revive) throw new Error(`no method ${JSON.stringify(d.method)} revives a memory edit`);
          await revive(this.context(), d);
        }
        this.versions.apply(edit.method, edit.requests, edit.deltas, edit);
      } catch (error) {
        process.stderr.write(`locus: dropping saved edit ${edit.id} of ${saved.model}: ${(error as Error).message}\n`);
        saved.store.remove(saved.model, edit.id);
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
