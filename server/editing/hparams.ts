/**
 * A method's hyper-parameters for one model: the method's defaults for the model's family and size,
 * then the model's own file (`editing.json` beside its weights: what its causal trace showed), then
 * what the caller gave — checked against the method's schema and the model's layers.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { EditableLM } from '../models/editable';
import { EDITORS, type EditorId } from './index';

/** A bad method name or hyper-parameter; the message names the field and is fit to show as is. */
export class HparamsError extends Error {
  override name = 'HparamsError';
}

export function isEditorId(value: string): value is EditorId {
  return Object.hasOwn(EDITORS, value);
}

export function editorIdOf(value: string): EditorId {
  if (!isEditorId(value)) throw new HparamsError(`unknown method ${JSON.stringify(value)} (known: ${Object.keys(EDITORS).join(', ')})`);
  return value;
}

/** `editing.json` of a checkpoint folder: { method: { hparam: value } }; {} when there is none. */
export function modelEditingDefaults(location: string): Record<string, Record<string, unknown>> {
  const file = path.join(location, 'editing.json');
  if (!existsSync(location) || !statSync(location).isDirectory() || !existsSync(file)) return {};
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>;
}

/** The layers a method's hyper-parameters name (`layer` or `layers`). */
export function hparamLayers(hparams: Record<string, unknown>): number[] {
  const layers = hparams.layers ?? (hparams.layer === undefined ? [] : [hparams.layer]);
  return Array.isArray(layers) ? layers.filter((l): l is number => Number.isInteger(l)) : [];
}

/** `label` prefixes messages (the CLI says "--hparams", the studio "hparams"). */
export function resolveHparams(method: EditorId, lm: EditableLM, given: Record<string, unknown>, location?: string, label = 'hparams'): Record<string, unknown> {
  const editor = EDITORS[method];
  const fromModel = location ? (modelEditingDefaults(location)[method] ?? {}) : {};
  const parsed = editor.hparams.safeParse({ ...editor.defaults(lm), ...fromModel, ...given });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new HparamsError(`${label} ${issue.path.join('.')}: ${issue.message}`.replace(`${label} :`, `${label}:`));
  }
  const hparams = parsed.data as Record<string, unknown>;
  // the schemas drop keys they do not know: a typo would silently leave the default in place
  const unknown = Object.keys(given).filter((key) => !(key in hparams));
  if (unknown.length) throw new HparamsError(`${label}: ${editor.name} has no ${unknown.map((k) => JSON.stringify(k)).join(', ')} (it has ${Object.keys(hparams).join(', ')})`);
  const { layers } = lm.editSpec;
  for (const layer of hparamLayers(hparams)) {
    if (layer >= layers) throw new HparamsError(`${label}: layer ${layer} is out of range: the model has ${layers} layers (0-${layers - 1})`);
  }
  return hparams;
}
