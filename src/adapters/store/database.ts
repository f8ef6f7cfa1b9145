import * as fs from "node:fs";
import * as path from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { newerSchemaError, StoreError } from "./errors";
import { loadSqlite } from "./load-sqlite";
import { MIGRATIONS } from "./migrations";

// The SQLite file under the store: connection settings, migrations, transactions and lock errors.

const SQLITE_BUSY = 5;
const SQLITE_FULL = 13;

/**
 * Opens (creating if needed) the database and brings its schema up to date. WAL lets readers run
 * beside a writer; the busy timeout makes a second tidegate process wait for a lock instead of failing.
 */
export function openDatabase(file: string, busyTimeoutMs: number, now: () => Date): DatabaseSync {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const { DatabaseSync } = loadSqlite();
  const db = new DatabaseSync(file);
  try {
    // A pragma rather than the `timeout` option, which Node only reads from 22.16 on.
    db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
    db.exec("PRAGMA journal_mode = WAL");
    migrate(db, now);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

// One row per applied migration. Two processes opening a new file at once both take the write lock
// first, so only one of them migrates.
function migrate(db: DatabaseSync, now: () => Date): void {
  immediate(db, () => {
    db.exec(
      "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL) STRICT",
    );
    const row = db.prepare("SELECT coalesce(max(version), 0) AS version FROM schema_version").get();
    const current = Number(row?.version ?? 0);
    if (current > MIGRATIONS.length) throw newerSchemaError(current, MIGRATIONS.length);
    const record = db.prepare("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)");
    MIGRATIONS.slice(current).forEach((migration, i) => {
      db.exec(migration);
      record.run(current + i + 1, now().toISOString());
    });
  });
}

/**
 * Runs `work` in a write transaction taken up front: a transaction that reads first and upgrades
 * its lock later can fail with SQLITE_BUSY at once, without waiting out the busy timeout.
 */
export function immediate<T>(db: DatabaseSync, work: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = work();
    db.exec("COMMIT");
    return result;
  } catch (error) {
    try {
      db.exec("ROLLBACK");
    } catch {
      // Some errors end the transaction themselves; there is nothing left to roll back.
    }
    throw error;
  }
}

/** Turns SQLite's "database is locked" (after the busy timeout) and "disk is full" into StoreErrors callers can name. */
export function busyErrors<A extends unknown[], R>(
  file: string,
  busyTimeoutMs: number,
  work: (...args: A) => R,
): (...args: A) => R {
  return (...args) => {
    try {
      return work(...args);
    } catch (error) {
      const code = (error as { errcode?: unknown } | undefined)?.errcode;
      if (typeof code === "number" && (code & 0xff) === SQLITE_BUSY) {
        throw new StoreError(
          "busy",
          `the store ${file} stayed locked by another process for ${busyTimeoutMs} ms; try again`,
          { cause: error },
        );
      }
      if (typeof code === "number" && (code & 0xff) === SQLITE_FULL) {
        throw new StoreError(
          "full",
          `the store ${file} could not be written: no space left on its disk; nothing of this write was kept — free space in ${path.dirname(file)} and run again`,
          { cause: error },
        );
      }
      throw error;
    }
  };
}
