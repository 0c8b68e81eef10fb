/**
 * Applied edits on disk, so a restart (or a crash mid-edit) loses none of them: one SQLite table
 * (versions.sqlite in the data directory) of edits per model, each with its method, requests and
 * deltas. The deltas' numbers are one binary blob (little-endian f32, in the order the metadata
 * lists them), not JSON: a dense delta of a large model is tens of MB. A memory delta (SERAC) is
 * all metadata: its entries and the trained editor file its router is loaded from again.
 */
import type { EditRequest } from '../../lib/editing/request';
import { dbPath, openDatabase } from '../storage/sqlite';
import type { SlotActivation } from '../models/ffn-slots';
import type { MemoryEntry } from '../models/edit-memory';
import type { WeightDelta } from './editor';
import type { AppliedEdit } from './versions';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS edits (
  model      TEXT NOT NULL,
  id         INTEGER NOT NULL,
  method     TEXT NOT NULL,
  requests   TEXT NOT NULL,
  at         TEXT NOT NULL,
  deltas     TEXT NOT NULL,
  data       BLOB NOT NULL,
  PRIMARY KEY (model, id)
);`;

type DeltaMeta =
  | { param: string; kind: 'lowRank'; rows: number; cols: number; rank: number }
  | { param: string; kind: 'dense'; rows: number; cols: number }
  | { param: string; kind: 'ffnSlots'; layer: number; count: number; width: number; activation: SlotActivation }
  | { param: string; kind: 'memory'; method: string; editor: string; settings: Record<string, unknown>; entries: MemoryEntry[] };

function arraysOf(d: WeightDelta): Float32Array[] {
  if (d.kind === 'memory') return [];
  if (d.kind === 'ffnSlots') return [d.keys, d.bias, d.values];
  return d.kind === 'lowRank' ? [d.left, d.right] : [d.values];
}

function metaOf(d: WeightDelta): DeltaMeta {
  if (d.kind === 'memory') return { param: d.param, kind: d.kind, method: d.method, editor: d.editor, settings: d.settings, entries: d.entries };
  if (d.kind === 'ffnSlots') return { param: d.param, kind: d.kind, layer: d.layer, count: d.count, width: d.width, activation: d.activation };
  return d.kind === 'lowRank' ? { param: d.param, kind: d.kind, rows: d.rows, cols: d.cols, rank: d.rank } : { param: d.param, kind: d.kind, rows: d.rows, cols: d.cols };
}

function encode(deltas: readonly WeightDelta[]): { meta: DeltaMeta[]; data: Buffer } {
  const meta = deltas.map(metaOf);
  const data = Buffer.concat(deltas.flatMap(arraysOf).map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
  return { meta, data };
}

function decode(meta: readonly DeltaMeta[], data: Buffer): WeightDelta[] {
  // Copied into an aligned buffer: Float32Array views need 4-byte alignment.
  const floats = new Float32Array(new Uint8Array(data).buffer);
  let at = 0;
  const take = (n: number) => floats.slice(at, (at += n));
  return meta.map((m): WeightDelta => {
    // the router is attached again by the method's revive (../backend/workspace.ts)
    if (m.kind === 'memory') return { ...m };
    if (m.kind === 'ffnSlots') return { ...m, keys: take(m.count * m.width), bias: take(m.count), values: take(m.count * m.width) };
    return m.kind === 'lowRank' ? { ...m, left: take(m.rows * m.rank), right: take(m.cols * m.rank) } : { ...m, values: take(m.rows * m.cols) };
  });
}

export class VersionStore {
  private readonly db;

  constructor(file = dbPath('versions.sqlite')) {
    this.db = openDatabase(file, SCHEMA);
  }

  /** The model's saved edits, oldest first. */
  load(model: string): AppliedEdit[] {
    const rows = this.db.prepare('SELECT id, method, requests, at, deltas, data FROM edits WHERE model = ? ORDER BY id').all(model) as {
      id: number;
      method: string;
      requests: string;
      at: string;
      deltas: string;
      data: Buffer;
    }[];
    return rows.map((r) => ({ id: r.id, method: r.method, at: r.at, requests: JSON.parse(r.requests) as EditRequest[], deltas: decode(JSON.parse(r.deltas) as DeltaMeta[], r.data) }));
  }

  /** The model's saved edits without their deltas (cheap), oldest first. */
  list(model: string): Omit<AppliedEdit, 'deltas'>[] {
    const rows = this.db.prepare('SELECT id, method, requests, at FROM edits WHERE model = ? ORDER BY id').all(model) as { id: number; method: string; requests: string; at: string }[];
    return rows.map((r) => ({ id: r.id, method: r.method, at: r.at, requests: JSON.parse(r.requests) as EditRequest[] }));
  }

  add(model: string, edit: AppliedEdit): void {
    const { meta, data } = encode(edit.deltas);
    this.db.prepare('INSERT INTO edits (model, id, method, requests, at, deltas, data) VALUES (?, ?, ?, ?, ?, ?, ?)').run(model, edit.id, edit.method, JSON.stringify(edit.requests), edit.at, JSON.stringify(meta), data);
  }

  remove(model: string, id: number): void {
    this.db.prepare('DELETE FROM edits WHERE model = ? AND id = ?').run(model, id);
  }

  close(): void {
    this.db.close();
  }
}
