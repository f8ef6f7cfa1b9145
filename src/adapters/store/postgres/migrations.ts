// The store's schema on PostgreSQL, one migration per version, applied in order and never edited once
// released: a change is a new entry at the end. Its own list (not SQLite's): version 1 holds what
// SQLite reached in its 8 steps. Column names match SQLite's so the row mapping (../rows.ts) is shared.
// Times are kept as given (ISO 8601) and as epoch milliseconds, which is what ordering uses.

export const PG_MIGRATIONS: readonly string[] = [
  // 1: runs, statuses, reports, approvals, successes, check results, leases, work requests, tokens,
  // webhook deliveries, the notifications outbox.
  `
  CREATE TABLE runs (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    environment TEXT NOT NULL,
    stack TEXT NOT NULL,
    kind TEXT NOT NULL,
    triggered_by TEXT NOT NULL,
    commit_sha TEXT,
    mode TEXT,
    owner TEXT,
    started_at TEXT NOT NULL,
    started_ms BIGINT NOT NULL,
    heartbeat_at TEXT,
    heartbeat_ms BIGINT,
    ended_at TEXT,
    outcome TEXT,
    error TEXT
  );
  CREATE INDEX runs_by_start ON runs (started_ms DESC, seq DESC);
  CREATE INDEX runs_by_environment ON runs (environment, started_ms DESC, seq DESC);
  CREATE INDEX runs_open ON runs (started_ms) WHERE ended_at IS NULL;
  CREATE INDEX runs_open_by_owner ON runs (owner) WHERE ended_at IS NULL;

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
    updated_ms BIGINT NOT NULL,
    stale TEXT
  );

  CREATE TABLE reports (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id TEXT NOT NULL UNIQUE,
    environment TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    started_ms BIGINT NOT NULL,
    body TEXT NOT NULL
  );
  CREATE INDEX reports_by_environment ON reports (environment, started_ms DESC, seq DESC);

  CREATE TABLE approvals (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    environment TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    plan_digest TEXT NOT NULL,
    approver TEXT NOT NULL,
    owner TEXT,
    scope TEXT NOT NULL,
    comment TEXT,
    at TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    revoked_at TEXT,
    revoked_by TEXT
  );
  CREATE INDEX approvals_by_environment ON approvals (environment, at_ms DESC, seq DESC);
  -- One approver approves one plan once: a second approval of the same plan adds nothing.
  CREATE UNIQUE INDEX approvals_active ON approvals (environment, commit_sha, plan_digest, approver, scope)
    WHERE revoked_at IS NULL;

  CREATE TABLE successes (
    environment TEXT NOT NULL,
    program_tree TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    first_at TEXT NOT NULL,
    first_ms BIGINT NOT NULL,
    last_at TEXT NOT NULL,
    last_ms BIGINT NOT NULL,
    PRIMARY KEY (environment, program_tree)
  );

  CREATE TABLE check_results (
    environment TEXT NOT NULL,
    key TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (environment, key)
  );

  CREATE TABLE leases (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    renewed_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    expires_ms BIGINT NOT NULL
  );

  -- An identity is never reused after a prune, so a reader that saw a seq misses nothing.
  CREATE TABLE requests (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    environment TEXT NOT NULL,
    reason TEXT NOT NULL,
    priority TEXT NOT NULL,
    actor TEXT,
    look TEXT,
    at TEXT NOT NULL,
    at_ms BIGINT NOT NULL
  );
  CREATE INDEX requests_by_time ON requests (at_ms);

  CREATE TABLE tokens (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    expires_at TEXT,
    last_used_at TEXT,
    last_used_ms BIGINT,
    revoked_at TEXT,
    revoked_by TEXT
  );

  CREATE TABLE webhook_deliveries (
    provider TEXT NOT NULL,
    repository TEXT NOT NULL,
    last_verified_at TEXT,
    last_verified_ms BIGINT,
    refused INTEGER NOT NULL DEFAULT 0,
    last_refused_at TEXT,
    PRIMARY KEY (provider, repository)
  );

  CREATE TABLE notify_outbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key TEXT NOT NULL,
    sink TEXT NOT NULL,
    body TEXT NOT NULL,
    at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at TEXT NOT NULL,
    next_ms BIGINT NOT NULL,
    last_error TEXT,
    delivered_at TEXT,
    UNIQUE (key, sink)
  );
  CREATE INDEX notify_outbox_due ON notify_outbox (next_ms, id) WHERE delivered_at IS NULL;
  CREATE TABLE notify_marks (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  // 2: the configured environments as the engine last loaded them (one row), read by status.
  `
  CREATE TABLE environment_list (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    environments TEXT NOT NULL
  );
  `,
];
