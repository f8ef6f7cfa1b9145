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
  // 2: approvals, promotion facts (which program tree succeeded where), cached check results.
  `
  CREATE TABLE approvals (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    environment TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    plan_digest TEXT NOT NULL,
    approver TEXT NOT NULL,
    scope TEXT NOT NULL,
    comment TEXT,
    at TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    revoked_at TEXT,
    revoked_by TEXT
  ) STRICT;
  CREATE INDEX approvals_by_environment ON approvals (environment, at_ms DESC, seq DESC);
  -- One approver approves one plan once: a second approval of the same plan adds nothing.
  CREATE UNIQUE INDEX approvals_active ON approvals (environment, commit_sha, plan_digest, approver, scope)
    WHERE revoked_at IS NULL;

  CREATE TABLE successes (
    environment TEXT NOT NULL,
    program_tree TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    first_at TEXT NOT NULL,
    first_ms INTEGER NOT NULL,
    last_at TEXT NOT NULL,
    last_ms INTEGER NOT NULL,
    PRIMARY KEY (environment, program_tree)
  ) STRICT;

  CREATE TABLE check_results (
    environment TEXT NOT NULL,
    key TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (environment, key)
  ) STRICT;
  `,
  // 3: run owners and heartbeats, the run's mode; leases; work requests for the daemon.
  `
  ALTER TABLE runs ADD COLUMN owner TEXT;
  ALTER TABLE runs ADD COLUMN heartbeat_at TEXT;
  ALTER TABLE runs ADD COLUMN heartbeat_ms INTEGER;
  ALTER TABLE runs ADD COLUMN mode TEXT;
  CREATE INDEX runs_open_by_owner ON runs (owner) WHERE ended_at IS NULL;

  CREATE TABLE leases (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    renewed_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    expires_ms INTEGER NOT NULL
  ) STRICT;

  -- AUTOINCREMENT: a seq is never reused after a prune, so a reader that saw it misses nothing.
  CREATE TABLE requests (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    environment TEXT NOT NULL,
    reason TEXT NOT NULL,
    priority TEXT NOT NULL,
    actor TEXT,
    at TEXT NOT NULL,
    at_ms INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX requests_by_time ON requests (at_ms);
  `,
  // 4: an environment's status kept while its remote cannot be polled (JSON: since, lastPollAt, reason).
  `
  ALTER TABLE statuses ADD COLUMN stale TEXT;
  `,
  // 5: API tokens (only a hash of each secret); the person behind a token's approval.
  `
  CREATE TABLE tokens (
    seq INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    expires_at TEXT,
    last_used_at TEXT,
    last_used_ms INTEGER,
    revoked_at TEXT,
    revoked_by TEXT
  ) STRICT;
  ALTER TABLE approvals ADD COLUMN owner TEXT;
  `,
  // 6: a request for a full check or a sync (the API's and the dashboard's), not only a re-judge.
  `
  ALTER TABLE requests ADD COLUMN look TEXT;
  `,
  // 7: webhook deliveries per provider and repository: the last verified one, how many were refused.
  `
  CREATE TABLE webhook_deliveries (
    provider TEXT NOT NULL,
    repository TEXT NOT NULL,
    last_verified_at TEXT,
    last_verified_ms INTEGER,
    refused INTEGER NOT NULL DEFAULT 0,
    last_refused_at TEXT,
    PRIMARY KEY (provider, repository)
  ) STRICT;
  `,
  // 8: the notifications outbox (one row per event and sink) and the detector's marks.
  `
  CREATE TABLE notify_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    sink TEXT NOT NULL,
    body TEXT NOT NULL,
    at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at TEXT NOT NULL,
    next_ms INTEGER NOT NULL,
    last_error TEXT,
    delivered_at TEXT,
    UNIQUE (key, sink)
  ) STRICT;
  CREATE INDEX notify_outbox_due ON notify_outbox (next_ms, id) WHERE delivered_at IS NULL;
  CREATE TABLE notify_marks (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;
  `,
  // 9: the configured environments as the engine last loaded them (one row), read by status.
  `
  CREATE TABLE environment_list (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    environments TEXT NOT NULL
  ) STRICT;
  `,
];
