// The store's schema, one migration per version, applied in order and never edited once released:
// a change is a new entry at the end. Times are kept as given (ISO 8601) and as epoch milliseconds,
// which is what ordering uses (ISO strings with different offsets do not sort as text).

export const MIGRATIONS: readonly string[] = [
  // 1: runs, environment statuses, check reports.
  `
  CREATE TABLE runs (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    environment TEXT NOT NULL,
    stack TEXT NOT NULL,
    kind TEXT NOT NULL,
    triggered_by TEXT NOT NULL,
    commit_sha TEXT,
    started_at TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    ended_at TEXT,
    outcome TEXT,
    error TEXT
  ) STRICT;
  CREATE INDEX runs_by_start ON runs (started_ms DESC, seq DESC);
  CREATE INDEX runs_by_environment ON runs (environment, started_ms DESC, seq DESC);
  CREATE INDEX runs_open ON runs (started_ms) WHERE ended_at IS NULL;

  CREATE TABLE statuses (
    environment TEXT PRIMARY KEY,
    branch TEXT NOT NULL,
    stack TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    head_commit TEXT,
    deployed_commit TEXT,
    pending_count INTEGER NOT NULL,
    drift_count INTEGER NOT NULL,
    last_run_id TEXT,
    last_run_at TEXT,
    updated_at TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE reports (
    seq INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL UNIQUE,
    environment TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    body TEXT NOT NULL
  ) STRICT;
  CREATE INDEX reports_by_environment ON reports (environment, started_ms DESC, seq DESC);
  `,
];
