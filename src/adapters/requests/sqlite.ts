import type { DatabaseSync } from "node:sqlite";
import { busyErrors, openDatabase } from "../store/database";

// Requests to the daemon ("look at environment E now, because R"), written by any process (a CLI
// approve, revoke) and read by the daemon, in the store's SQLite file. A stand-in for the store's
// own RequestStore (same methods) until it lands; its table is its own, outside the migrations.

export type RequestPriority = "person" | "schedule";

export interface NewWorkRequest {
  environment: string;
  /** Why, e.g. "approved by alice@example.com". */
  reason: string;
  priority: RequestPriority;
  actor?: string;
  /** ISO 8601. */
  at: string;
}

export interface WorkRequest extends NewWorkRequest {
  /** Increases with every request; a reader keeps the last one it saw. */
  seq: number;
}

export interface RequestStore {
  /** Records a request and returns its seq. */
  addRequest(request: NewWorkRequest): Promise<number>;
  /** Requests after `seq`, oldest first, at most `limit` (default 100). */
  requestsSince(seq: number, limit?: number): Promise<WorkRequest[]>;
  close(): Promise<void>;
}

const BUSY_TIMEOUT_MS = 5_000;
const DEFAULT_LIMIT = 100;
/** Older requests are deleted: a reader that far behind re-checks everything anyway. */
const KEEP = 10_000;

/** Opens the requests table in the store's SQLite file (creating it if needed). */
export function openSqliteRequests(file: string): RequestStore {
  const db = busyErrors(file, BUSY_TIMEOUT_MS, openDatabase)(file, BUSY_TIMEOUT_MS, () => new Date());
  // AUTOINCREMENT: a seq is never reused, even after old rows are deleted.
  db.exec(`CREATE TABLE IF NOT EXISTS daemon_requests (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    environment TEXT NOT NULL,
    reason TEXT NOT NULL,
    priority TEXT NOT NULL,
    actor TEXT,
    at TEXT NOT NULL
  ) STRICT`);
  const sql = statements(db);
  const guard = <A extends unknown[], R>(work: (...args: A) => R) => busyErrors(file, BUSY_TIMEOUT_MS, work);

  const add = guard((request: NewWorkRequest): number => {
    const { lastInsertRowid } = sql.insert.run(
      request.environment,
      request.reason,
      request.priority,
      request.actor ?? null,
      request.at,
    );
    const seq = Number(lastInsertRowid);
    sql.prune.run(seq - KEEP);
    return seq;
  });
  const since = guard((seq: number, limit: number): WorkRequest[] =>
    sql.since.all(seq, limit).map((row) => ({
      seq: Number(row.seq),
      environment: String(row.environment),
      reason: String(row.reason),
      priority: row.priority === "person" ? "person" : "schedule",
      ...(typeof row.actor === "string" ? { actor: row.actor } : {}),
      at: String(row.at),
    })),
  );
  return {
    addRequest: async (request) => add(request),
    requestsSince: async (seq, limit = DEFAULT_LIMIT) => since(seq, limit),
    close: async () => db.close(),
  };
}

function statements(db: DatabaseSync) {
  return {
    insert: db.prepare(
      "INSERT INTO daemon_requests (environment, reason, priority, actor, at) VALUES (?, ?, ?, ?, ?)",
    ),
    prune: db.prepare("DELETE FROM daemon_requests WHERE seq <= ?"),
    since: db.prepare("SELECT * FROM daemon_requests WHERE seq > ? ORDER BY seq LIMIT ?"),
  };
}
