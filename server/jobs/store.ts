/**
 * The jobs' persistence: one SQLite file (better-sqlite3, WAL mode) with a `jobs` table (one row per
 * job: its input, state, times, error and result) and an `events` table (every event of every job,
 * numbered from 1 per job). Synchronous on purpose: an event is on disk before anyone hears of it.
 *
 * The store knows nothing about running jobs; ./queue.ts decides what to write and when.
 */
import type Database from 'better-sqlite3';
import type { JobEvent, JobInput, JobKind, JobState, JobSummary } from '../../lib/api/jobs';
import { dbPath, openDatabase } from '../storage/sqlite';

/** The jobs database inside a data directory. */
export function jobsDbPath(dir?: string): string {
  return dbPath('jobs.sqlite', dir);
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id          TEXT PRIMARY KEY,
  kind        TEXT NOT NULL,
  model       TEXT NOT NULL,
  input       TEXT NOT NULL,
  state       TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  started_at  TEXT,
  finished_at TEXT,
  error       TEXT,
  result      TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_model ON jobs (model);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state);
CREATE TABLE IF NOT EXISTS events (
  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  seq    INTEGER NOT NULL,
  at     TEXT NOT NULL,
  type   TEXT NOT NULL,
  data   TEXT NOT NULL,
  PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
`;

interface JobRow {
  id: string;
  kind: JobKind;
  model: string;
  input: string;
  state: JobState;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
  result: string | null;
  events: number;
}

interface EventRow {
  seq: number;
  at: string;
  type: JobEvent['type'];
  data: string;
}

/** The columns a state change may set besides `state`. */
export interface StateChange {
  state: JobState;
  startedAt?: string;
  finishedAt?: string;
  error?: string | null;
  result?: unknown;
}

const SELECT_JOB = `SELECT j.*, (SELECT coalesce(max(seq), 0) FROM events e WHERE e.job_id = j.id) AS events FROM jobs j`;

function toSummary(row: JobRow): JobSummary {
  return {
    id: row.id,
    kind: row.kind,
    model: row.model,
    state: row.state,
    input: JSON.parse(row.input) as unknown,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    error: row.error,
    result: row.result === null ? null : (JSON.parse(row.result) as unknown),
    events: row.events,
  };
}

/** JSON text of a value; undefined (and anything JSON drops) becomes null. */
function json(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}

export class JobStore {
  private readonly db: Database.Database;
  private readonly stmts;

  /** Opens (creating if needed) the database at `file`; ':memory:' for a throwaway one. */
  constructor(readonly file: string) {
    this.db = openDatabase(file, SCHEMA);
    this.stmts = {
      insertJob: this.db.prepare<[string, string, string, string, string, string]>(
        `INSERT INTO jobs (id, kind, model, input, state, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      getJob: this.db.prepare<[string], JobRow>(`${SELECT_JOB} WHERE j.id = ?`),
      setState: this.db.prepare<{ id: string; state: string; startedAt: string | null; finishedAt: string | null; error: string | null; result: string | null; setResult: number }>(
        `UPDATE jobs SET state = @state,
           started_at = coalesce(@startedAt, started_at),
           finished_at = coalesce(@finishedAt, finished_at),
           error = @error,
           result = CASE WHEN @setResult THEN @result ELSE result END
         WHERE id = @id`,
      ),
      insertEvent: this.db.prepare<[string, number, string, string, string]>(`INSERT INTO events (job_id, seq, at, type, data) VALUES (?, ?, ?, ?, ?)`),
      lastSeq: this.db.prepare<[string], { seq: number }>(`SELECT coalesce(max(seq), 0) AS seq FROM events WHERE job_id = ?`),
      events: this.db.prepare<[string, number], EventRow>(`SELECT seq, at, type, data FROM events WHERE job_id = ? AND seq > ? ORDER BY seq`),
      unfinished: this.db.prepare<[], { id: string; state: JobState }>(`SELECT id, state FROM jobs WHERE state IN ('queued', 'running') ORDER BY rowid`),
    };
  }

  insertJob(id: string, input: JobInput, createdAt: string): void {
    this.stmts.insertJob.run(id, input.kind, input.model, json(input), 'queued', createdAt);
  }

  get(id: string): JobSummary | undefined {
    const row = this.stmts.getJob.get(id);
    return row && toSummary(row);
  }

  /** Newest first. */
  list(filter: { model?: string; kind?: JobKind; state?: JobState; limit: number }): JobSummary[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    for (const column of ['model', 'kind', 'state'] as const) {
      const value = filter[column];
      if (value === undefined) continue;
      where.push(`j.${column} = ?`);
      args.push(value);
    }
    const sql = `${SELECT_JOB}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY j.rowid DESC LIMIT ?`;
    return this.db
      .prepare<(string | number)[], JobRow>(sql)
      .all(...args, filter.limit)
      .map(toSummary);
  }

  /** The job's input as submitted. */
  input(id: string): JobInput | undefined {
    return this.get(id)?.input as JobInput | undefined;
  }

  /** Jobs a previous process left queued or running, oldest first. */
  unfinished(): { id: string; state: JobState }[] {
    return this.stmts.unfinished.all();
  }

  lastSeq(id: string): number {
    return this.stmts.lastSeq.get(id)?.seq ?? 0;
  }

  appendEvent(id: string, event: JobEvent): void {
    this.stmts.insertEvent.run(id, event.seq, event.at, event.type, json(event.data));
  }

  /** Changes a job's state and records the event that says so, in one transaction. */
  setState(id: string, change: StateChange, event: JobEvent): void {
    this.db.transaction(() => {
      this.stmts.setState.run({
        id,
        state: change.state,
        startedAt: change.startedAt ?? null,
        finishedAt: change.finishedAt ?? null,
        error: change.error ?? null,
        result: 'result' in change ? json(change.result) : null,
        setResult: 'result' in change ? 1 : 0,
      });
      this.appendEvent(id, event);
    })();
  }

  /** The job's events after `afterSeq`, in order. */
  events(id: string, afterSeq = 0): JobEvent[] {
    return this.stmts.events.all(id, afterSeq).map((row) => ({ seq: row.seq, at: row.at, type: row.type, data: JSON.parse(row.data) as unknown }));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
