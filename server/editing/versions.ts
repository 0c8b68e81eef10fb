import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { EditRequest } from '../../lib/editing/request';
import { writeSafetensors } from '../models/formats/safetensors';
import type { EditableLM, EditableNetwork } from '../models/editable';
import type { Tensor } from '../engine';
import { checkSlotGroup, type SlotGroup } from '../models/ffn-slots';
import type { MemoryGroup } from '../models/edit-memory';
import { addDelta } from './deltas';
import { memoryGroup, slotParam, type WeightDelta } from './editor';

/** A version that cannot be exported as asked; the message says why and is fit to show. */
export class VersionExportError extends Error {
  override name = 'VersionExportError';
}

/** One applied edit: which method, which requests, and the deltas it produced. */
export interface AppliedEdit {
  id: number;
  method: string;
  requests: EditRequest[];
  deltas: WeightDelta[];
  at: string;
}

/**
 * Edits as versions, not mutations (DESIGN.md decision 8): a model version is the base weights
 * plus the deltas of the edits applied so far. Reverting puts back the base of every touched
 * parameter exactly (a view of its original storage is kept: no copy) and re-applies the edits
 * that remain.
 */
export class ModelVersions {
  private readonly edits: AppliedEdit[] = [];
  /** Views of the base storage of every parameter an edit has touched. */
  private readonly base = new Map<string, Tensor>();
  /** The slot groups of every layer an edit has added slots to, as they were before. */
  private readonly baseSlots = new Map<number, readonly SlotGroup[]>();
  /** The edit memory's groups as they were before the first memory edit (SERAC). */
  private baseMemory: readonly MemoryGroup[] | null = null;
  private nextId = 1;
  readonly network: EditableNetwork;
  /** The edit stack's depth and width, which added slots must fit. */
  private readonly stack: { layers: number; hidden: number };

  constructor(lm: Pick<EditableLM, 'network' | 'editSpec'>) {
    this.network = lm.network;
    this.stack = lm.editSpec;
  }

  /** The applied edits, oldest first. */
  history(): readonly AppliedEdit[] {
    return this.edits;
  }

  /** Applies an edit; `restored` gives back the id and time of an edit saved before (./version-store.ts). */
  apply(method: string, requests: readonly EditRequest[], deltas: readonly WeightDelta[], restored?: { id: number; at: string }): AppliedEdit {
    const e = this.network.engine;
    for (const d of deltas) {
      if (d.kind === 'ffnSlots') {
        if (d.param !== slotParam(d.layer)) throw new Error(`FFN slots delta named ${d.param} is for layer ${d.layer} (${slotParam(d.layer)})`);
        checkSlotGroup(d, this.stack);
        continue;
      }
      if (d.kind === 'memory') {
        memoryGroup(d);
        continue;
      }
      const { param, rows, cols } = d;
      const t = this.network.params.get(param);
      if (!t) throw new Error(`delta for unknown parameter ${param}`);
      if (t.size !== rows * cols) throw new Error(`delta for ${param} is [${rows},${cols}], the parameter is [${t.shape}]`);
    }
    for (const d of deltas) {
      // untouched until now, so its current value is the base
      if (d.kind === 'ffnSlots') {
        if (!this.baseSlots.has(d.layer)) this.baseSlots.set(d.layer, this.network.slots.at(d.layer));
        continue;
      }
      if (d.kind === 'memory') {
        this.baseMemory ??= this.network.memory.all();
        continue;
      }
      const t = this.network.params.get(d.param)!;
      if (!this.base.has(d.param)) this.base.set(d.param, e.keep(e.view(t, t.shape)));
    }
    for (const d of deltas) addDelta(this.network, d);
    const id = restored?.id ?? this.nextId;
    this.nextId = Math.max(this.nextId, id + 1);
    const edit: AppliedEdit = { id, method, requests: [...requests], deltas: [...deltas], at: restored?.at ?? new Date().toISOString() };
    this.edits.push(edit);
    return edit;
  }

  /** Removes the edit with this id (and only it): base weights restored exactly, the others re-applied. */
  revert(id: number): void {
    const index = this.edits.findIndex((edit) => edit.id === id);
    if (index < 0) throw new Error(`no applied edit with id ${id}`);
    this.edits.splice(index, 1);
    this.rebuild();
  }

  /** Back to the base model. */
  reset(): void {
    this.edits.length = 0;
    this.rebuild();
  }

  private rebuild(): void {
    for (const [name, view] of this.base) this.network.params.get(name)!.assign(view);
    for (const [layer, groups] of this.baseSlots) this.network.slots.restore(layer, groups);
    if (this.baseMemory) this.network.memory.restore(this.baseMemory);
    for (const edit of this.edits) for (const d of edit.deltas) addDelta(this.network, d);
  }

  /** Frees the held base views (the network keeps its current weights). */
  dispose(): void {
    for (const view of this.base.values()) view.dispose();
    this.base.clear();
    this.baseSlots.clear();
    this.baseMemory = null;
  }

  /**
   * Writes the current version as a Hugging Face checkpoint folder: model.safetensors (f32) with
   * the checkpoint's own keys, config.json and tokenizer files copied from the source folder, and
   * locus-edits.json listing the edits.
   */
  async export(outDir: string, sourceDir?: string): Promise<void> {
    // Added slots would need extra MLP rows the checkpoint's config cannot describe per layer (and
    // Llama's gated MLP has no slot of this form at all): refuse rather than drop them silently.
    const slotted = this.edits.find((edit) => edit.deltas.some((d) => d.kind === 'ffnSlots'));
    if (slotted) {
      const layers = [...new Set(slotted.deltas.flatMap((d) => (d.kind === 'ffnSlots' ? [d.layer] : [])))];
      throw new VersionExportError(
        `export: edit ${slotted.id} (${slotted.method}) added key/value slots beside the MLP of layer(s) ${layers.join(', ')}, which a Hugging Face safetensors checkpoint cannot hold; revert it to export the other edits`,
      );
    }
    const remembered = this.edits.find((edit) => edit.deltas.some((d) => d.kind === 'memory'));
    if (remembered) {
      throw new VersionExportError(
        `export: edit ${remembered.id} (${remembered.method}) keeps its edits in a memory beside the weights, answered by a trained router and counterfactual model, which a Hugging Face safetensors checkpoint cannot hold; revert it to export the other edits`,
      );
    }
    await mkdir(outDir, { recursive: true });
    const tensors: Record<string, { dtype: 'f32'; shape: number[]; data: Float32Array }> = {};
    for (const [name, t] of this.network.params) tensors[name] = { dtype: 'f32', shape: [...t.shape], data: (await t.values()) as Float32Array };
    await writeSafetensors(path.join(/* turbopackIgnore: true */ outDir, 'model.safetensors'), tensors, { format: 'pt', locus_edits: String(this.edits.length) });
    if (sourceDir) {
      // read and written, not copied: a copy would keep a read-only source's permissions
      for (const file of ['tokenizer.json', 'tokenizer_config.json']) {
        const text = await readFile(path.join(/* turbopackIgnore: true */ sourceDir, file), 'utf8').catch(() => null);
        if (text !== null) await writeFile(path.join(/* turbopackIgnore: true */ outDir, file), text);
      }
      const config = await readFile(path.join(/* turbopackIgnore: true */ sourceDir, 'config.json'), 'utf8').catch(() => null);
      if (config !== null) {
        const edited = { ...(JSON.parse(config) as Record<string, unknown>), dtype: 'float32', torch_dtype: 'float32' };
        await writeFile(path.join(/* turbopackIgnore: true */ outDir, 'config.json'), JSON.stringify(edited, null, 2));
      }
    }
    const summary = this.edits.map(({ id, method, requests, at }) => ({ id, method, requests, at }));
    await writeFile(path.join(/* turbopackIgnore: true */ outDir, 'locus-edits.json'), JSON.stringify(summary, null, 2));
  }
}
