/**
 * The studio's on-disk data: SQLite files (better-sqlite3) in one data directory. Each store (jobs,
 * reviews) keeps its own file and schema; this is how every one of them is found and opened.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

// turbopackIgnore: these are run-time locations, not files of the app; without it `next build`
// traces the whole project into the server output ("Dynamic filesystem access").

/** Where the studio keeps its data: $LOCUS_DATA_DIR, or `.locus/` in the working directory. */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.LOCUS_DATA_DIR;
  return dir ? path.resolve(/*turbopackIgnore: true*/ dir) : path.join(/*turbopackIgnore: true*/ process.cwd(), '.locus');
}

/** A database file `name` inside a data directory. */
export function dbPath(name: string, dir: string = dataDir()): string {
  return path.join(/*turbopackIgnore: true*/ dir, name);
}

/** Opens (creating if needed) the database at `file` (':memory:' for a throwaway one) and applies `schema`. */
export function openDatabase(file: string, schema: string): Database.Database {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // With WAL, NORMAL loses at most the last transactions on power loss, never consistency.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.exec(schema);
  return db;
}
