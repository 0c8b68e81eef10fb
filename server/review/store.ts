/**
 * Portability reviews on disk: a SQLite file of its own, `review.sqlite`, beside the jobs database
 * in the studio's data directory ($LOCUS_DATA_DIR, default `.locus/`). A sibling file rather than
 * tables in jobs.sqlite, so the two stores never share a schema or a write lock, and deleting one
 * never touches the other.
 *
 * Tables: `imports` (one per imported file), `records` (the file's records as given, for the
 * export), `items` (one per portability question), `reviews` (one decision per item and reviewer;
 * deciding again replaces it), `checks` (the automatic knowledge check, per item and model).
 * Synchronous (better-sqlite3), like the jobs store: a decision is on disk before the answer.
 */
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Agreement, Decision, ImportSummary, KnowledgeCheck, Progress, ReviewFormat, ReviewItem, ReviewRecord } from '../../lib/api/review';
import { dbPath, openDatabase } from '../storage/sqlite';
import { agreement } from './agreement';
import { withPortability, type ParsedPortabilityFile } from './parse';

/** The review database inside a data directory. */
export function reviewDbPath(dir?: string): string {
  return dbPath('review.sqlite', dir);
}

/** A failure with the HTTP status it maps to (404 unknown import or item). */
export class ReviewError extends Error {
  constructor(
    readonly status: 400 | 404,
    message: string,
  ) {
    super(message);
    this.name = 'ReviewError';
  }
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS imports (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  format     TEXT NOT NULL,
  records    INTEGER NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
  import_id TEXT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
  idx       INTEGER NOT NULL,
  json      TEXT NOT NULL,
  PRIMARY KEY (import_id, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS items (
  import_id         TEXT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
  idx               INTEGER NOT NULL,
  record_idx        INTEGER NOT NULL,
  subject           TEXT NOT NULL,
  prompt            TEXT NOT NULL,
  true_answer       TEXT NOT NULL,
  new_target        TEXT NOT NULL,
  recalled_relation TEXT,
  question          TEXT NOT NULL,
  answer            TEXT NOT NULL,
  PRIMARY KEY (import_id, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reviews (
  import_id TEXT NOT NULL,
  item_idx  INTEGER NOT NULL,
  reviewer  TEXT NOT NULL,
  decision  TEXT NOT NULL CHECK (decision IN ('accept', 'reject', 'flag')),
  question  TEXT,
  answer    TEXT,
  note      TEXT,
  at        TEXT NOT NULL,
  PRIMARY KEY (import_id, item_idx, reviewer),
  FOREIGN KEY (import_id, item_idx) REFERENCES items (import_id, idx) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS checks (
  import_id TEXT NOT NULL,
  item_idx  INTEGER NOT NULL,
  model     TEXT NOT NULL,
  result    TEXT NOT NULL,
  at        TEXT NOT NULL,
  PRIMARY KEY (import_id, item_idx, model),
  FOREIGN KEY (import_id, item_idx) REFERENCES items (import_id, idx) ON DELETE CASCADE
) WITHOUT ROWID;
`;

interface ImportRow {
  id: string;
  name: string;
  format: ReviewFormat;
  records: number;
  created_at: string;
  items: number;
}

interface ItemRow {
  import_id: string;
  idx: number;
  record_idx: number;
  subject: string;
  prompt: string;
  true_answer: string;
  new_target: string;
  recalled_relation: string | null;
  question: string;
  answer: string;
}

interface ReviewRow {
  item_idx: number;
  reviewer: string;
  decision: Decision;
  question: string | null;
  answer: string | null;
  note: string | null;
  at: string;
}

export interface DecisionInput {
  reviewer: string;
  decision: Decision;
  question?: string;
  answer?: string;
  note?: string;
}

/** Which items an export takes. */
export type ExportStatus = 'accepted';

function toItem(row: ItemRow): ReviewItem {
  return {
    importId: row.import_id,
    index: row.idx,
    recordIndex: row.record_idx,
    subject: row.subject,
    prompt: row.prompt,
    trueAnswer: row.true_answer,
    newTarget: row.new_target,
    recalledRelation: row.recalled_relation,
    question: row.question,
    answer: row.answer,
  };
}

function toReview(row: ReviewRow): ReviewRecord {
  return { reviewer: row.reviewer, decision: row.decision, question: row.question, answer: row.answer, note: row.note, at: row.at };
}

function toSummary(row: ImportRow): ImportSummary {
  return { id: row.id, name: row.name, format: row.format, records: row.records, items: row.items, createdAt: row.created_at };
}

const SELECT_IMPORT = `SELECT i.*, (SELECT count(*) FROM items t WHERE t.import_id = i.id) AS items FROM imports i`;

export class ReviewStore {
  private readonly db: Database.Database;

  /** Opens (creating if needed) the database at `file`; ':memory:' for a throwaway one. */
  constructor(
    readonly file: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.db = openDatabase(file, SCHEMA);
  }

  close(): void {
    this.db.close();
  }

  /** Stores a parsed file as a new import, in one transaction. */
  createImport(name: string, file: ParsedPortabilityFile): ImportSummary {
    const id = randomUUID();
    const createdAt = this.now().toISOString();
    const insertImport = this.db.prepare('INSERT INTO imports (id, name, format, records, created_at) VALUES (?, ?, ?, ?, ?)');
    const insertRecord = this.db.prepare('INSERT INTO records (import_id, idx, json) VALUES (?, ?, ?)');
    const insertItem = this.db.prepare(
      `INSERT INTO items (import_id, idx, record_idx, subject, prompt, true_answer, new_target, recalled_relation, question, answer)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.db.transaction(() => {
      insertImport.run(id, name, file.format, file.records.length, createdAt);
      file.records.forEach((record, idx) => insertRecord.run(id, idx, JSON.stringify(record)));
      file.items.forEach((it, idx) =>
        insertItem.run(id, idx, it.recordIndex, it.subject, it.prompt, it.trueAnswer, it.newTarget, it.recalledRelation, it.question, it.answer),
      );
    })();
    return this.getImport(id);
  }

  /** Newest first. */
  listImports(): ImportSummary[] {
    return (this.db.prepare(`${SELECT_IMPORT} ORDER BY i.created_at DESC, i.rowid DESC`).all() as ImportRow[]).map(toSummary);
  }

  getImport(id: string): ImportSummary {
    const row = this.db.prepare(`${SELECT_IMPORT} WHERE i.id = ?`).get(id) as ImportRow | undefined;
    if (!row) throw new ReviewError(404, `No import ${JSON.stringify(id)}; import the file again`);
    return toSummary(row);
  }

  item(importId: string, index: number): ReviewItem {
    this.getImport(importId);
    const row = this.db.prepare('SELECT * FROM items WHERE import_id = ? AND idx = ?').get(importId, index) as ItemRow | undefined;
    if (!row) throw new ReviewError(404, `The import has no item ${index}`);
    return toItem(row);
  }

  /**
   * The first item after `after` (wrapping around to the start) that `reviewer` has not decided;
   * undefined when they have decided them all.
   */
  nextItem(importId: string, reviewer: string, after = -1): ReviewItem | undefined {
    this.getImport(importId);
    const row = this.db
      .prepare(
        `SELECT * FROM items t WHERE t.import_id = ?
           AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.import_id = t.import_id AND r.item_idx = t.idx AND r.reviewer = ?)
         ORDER BY (t.idx <= ?), t.idx LIMIT 1`,
      )
      .get(importId, reviewer, after) as ItemRow | undefined;
    return row && toItem(row);
  }

  /** Records `input` as the reviewer's decision on the item, replacing an earlier one. */
  decide(importId: string, index: number, input: DecisionInput): ReviewRecord {
    const item = this.item(importId, index);
    // An "edit" that changes nothing is a plain accept.
    const question = input.question !== undefined && input.question !== item.question ? input.question : null;
    const answer = input.answer !== undefined && input.answer !== item.answer ? input.answer : null;
    const note = input.note ? input.note : null;
    const at = this.now().toISOString();
    this.db
      .prepare(
        `INSERT INTO reviews (import_id, item_idx, reviewer, decision, question, answer, note, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (import_id, item_idx, reviewer) DO UPDATE SET decision = excluded.decision, question = excluded.question,
           answer = excluded.answer, note = excluded.note, at = excluded.at`,
      )
      .run(importId, index, input.reviewer, input.decision, question, answer, note, at);
    return { reviewer: input.reviewer, decision: input.decision, question, answer, note, at };
  }

  /** Every review of an item, oldest first. */
  reviews(importId: string, index: number): ReviewRecord[] {
    const rows = this.db
      .prepare('SELECT * FROM reviews WHERE import_id = ? AND item_idx = ? ORDER BY at, rowid')
      .all(importId, index) as ReviewRow[];
    return rows.map(toReview);
  }

  progress(importId: string, reviewer?: string): Progress {
    const { items } = this.getImport(importId);
    const count = (sql: string, ...args: unknown[]) => (this.db.prepare(sql).get(importId, ...args) as { n: number }).n;
    return {
      total: items,
      reviewed: reviewer ? count('SELECT count(*) AS n FROM reviews WHERE import_id = ? AND reviewer = ?', reviewer) : 0,
      reviewedByAnyone: count('SELECT count(DISTINCT item_idx) AS n FROM reviews WHERE import_id = ?'),
      checked: count('SELECT count(DISTINCT item_idx) AS n FROM checks WHERE import_id = ?'),
    };
  }

  /** Agreement over the import; the kappa pair is the first two reviewers by their first decision. */
  agreement(importId: string): Agreement {
    this.getImport(importId);
    const reviewers = (
      this.db.prepare('SELECT reviewer FROM reviews WHERE import_id = ? GROUP BY reviewer ORDER BY min(at), min(rowid)').all(importId) as {
        reviewer: string;
      }[]
    ).map((r) => r.reviewer);
    const rows = this.db.prepare('SELECT item_idx AS item, reviewer, decision FROM reviews WHERE import_id = ?').all(importId) as {
      item: number;
      reviewer: string;
      decision: Decision;
    }[];
    return agreement(reviewers, rows);
  }

  saveCheck(importId: string, index: number, check: KnowledgeCheck): void {
    this.item(importId, index);
    this.db
      .prepare(
        `INSERT INTO checks (import_id, item_idx, model, result, at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (import_id, item_idx, model) DO UPDATE SET result = excluded.result, at = excluded.at`,
      )
      .run(importId, index, check.model, JSON.stringify(check), check.at);
  }

  /** The latest check of an item (any model), or null. */
  latestCheck(importId: string, index: number): KnowledgeCheck | null {
    const row = this.db.prepare('SELECT result FROM checks WHERE import_id = ? AND item_idx = ? ORDER BY at DESC LIMIT 1').get(importId, index) as
      | { result: string }
      | undefined;
    return row ? (JSON.parse(row.result) as KnowledgeCheck) : null;
  }

  /**
   * The validated set in the imported file's format: the records of accepted items, in file order,
   * with the question and answer as last edited. An item is accepted when it has at least one
   * review and every review of it accepts (one reject or flag keeps it out).
   */
  exportRecords(importId: string, status: ExportStatus = 'accepted'): { summary: ImportSummary; records: unknown[] } {
    const summary = this.getImport(importId);
    void status;
    const items = (this.db.prepare('SELECT * FROM items WHERE import_id = ? ORDER BY record_idx, idx').all(importId) as ItemRow[]).map(toItem);
    const reviews = this.db.prepare('SELECT * FROM reviews WHERE import_id = ? ORDER BY at, rowid').all(importId) as ReviewRow[];
    const byItem = new Map<number, ReviewRow[]>();
    for (const r of reviews) byItem.set(r.item_idx, [...(byItem.get(r.item_idx) ?? []), r]);
    const recordJson = this.db.prepare('SELECT json FROM records WHERE import_id = ? AND idx = ?');
    const records: unknown[] = [];
    for (const item of items) {
      const decided = byItem.get(item.index) ?? [];
      if (!decided.length || decided.some((r) => r.decision !== 'accept')) continue;
      // The latest edit of each field wins; an accept without edits keeps an earlier one's.
      let question = item.question;
      let answer = item.answer;
      for (const r of decided) {
        if (r.question !== null) question = r.question;
        if (r.answer !== null) answer = r.answer;
      }
      const { json } = recordJson.get(importId, item.recordIndex) as { json: string };
      records.push(withPortability(JSON.parse(json), question, answer));
    }
    return { summary, records };
  }
}
