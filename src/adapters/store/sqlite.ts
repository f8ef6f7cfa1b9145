import type { DatabaseSync, SQLOutputValue } from "node:sqlite";
import type { Approval, CommandResult } from "../../domain/gates";
import type { RunReport, RunOutcome, RunRecord } from "../../domain/model";
import type { IsDead } from "../../domain/owner";
import { deepEqual } from "../../domain/values";
import { StoreError } from "./errors";
import { busyErrors, immediate, openDatabase } from "./database";
import { sqliteNotificationStore } from "./notify-sqlite";
import type {
  ApprovalQuery,
  EnvironmentState,
  InterruptSweep,
  Lease,
  ListedEnvironment,
  NewRun,
  NewSuccess,
  NewToken,
  NewWorkRequest,
  ProgramSuccess,
  ReportSummary,
  Revocation,
  RunFilter,
  Store,
  TokenRecord,
  WorkRequest,
  WebhookDeliveryMark,
  WebhookDeliveryStats,
} from "./port";
import {
  approvalFromRow,
  commandResultFromRow,
  environmentListFromText,
  environmentListText,
  leaseFromRow,
  NewSuccessSchema,
  NewTokenSchema,
  NewWorkRequestSchema,
  parseJson,
  requestFromRow,
  runFromRow,
  stateFromRow,
  successFromRow,
  summaryFromRow,
  tokenFromRow,
  validInput,
  webhookStatsFromRow,
} from "./rows";
import { approvalValues, runValues, statusValues, tokenValues } from "./values";
import {
  checkRevocation,
  count,
  epochMs,
  interruptedError,
  leaseArguments,
  newApproval,
  newCheckResult,
  nonEmpty,
  positiveInteger,
  storedReport,
  tokenTaken,
  validReport,
  webhookMark,
} from "./validate";

/** The store's file name in the data directory. */
export const STORE_FILE = "tidegate.db";

export interface SqliteStoreOptions {
  /** How long a write waits for another process's write lock before failing. */
  busyTimeoutMs?: number;
  /** The clock finishRun reads; tests pass a fixed one. */
  now?: () => Date;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
const NO_LIMIT = -1;

/** Opens (creating if needed) the store in one SQLite file, e.g. `<data dir>/tidegate.db`. */
export function openSqliteStore(file: string, options: SqliteStoreOptions = {}): Store {
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const now = options.now ?? (() => new Date());
  const db = busyErrors(file, busyTimeoutMs, openDatabase)(file, busyTimeoutMs, now);
  const store = sqliteStore(db, now);
  // Every method reports a lock held too long as StoreError "busy". node:sqlite is synchronous; the
  // port is asynchronous so that a networked store (PostgreSQL) fits the same callers.
  return Object.fromEntries(
    Object.entries(store).map(([name, method]) => {
      const guarded = busyErrors(file, busyTimeoutMs, method as (...args: unknown[]) => unknown);
      return [name, async (...args: unknown[]) => guarded(...args)];
    }),
  ) as unknown as Store;
}

/** The port with every method synchronous: what node:sqlite gives. */
type Synchronous<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => Promise<infer R> ? (...args: A) => R : T[K];
};

function sqliteStore(db: DatabaseSync, now: () => Date): Synchronous<Store> {
  const sql = {
    insertRun: db.prepare(
      `INSERT INTO runs (id, environment, stack, kind, triggered_by, commit_sha, mode, owner,
         started_at, started_ms, heartbeat_at, heartbeat_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    ),
    setRunCommit: db.prepare("UPDATE runs SET commit_sha = ? WHERE id = ?"),
    heartbeat: db.prepare(
      `UPDATE runs SET heartbeat_at = ?, heartbeat_ms = ?
       WHERE owner = ? AND ended_at IS NULL AND (heartbeat_ms IS NULL OR heartbeat_ms < ?)`,
    ),
    ownerRunsOpen: db.prepare("SELECT count(*) AS n FROM runs WHERE owner = ? AND ended_at IS NULL"),
    // The owner of a run knows its outcome better than a startup sweep that marked it interrupted.
    finishRun: db.prepare(
      `UPDATE runs SET ended_at = ?, outcome = ?, error = ?
       WHERE id = ? AND (ended_at IS NULL OR outcome = 'interrupted')`,
    ),
    run: db.prepare("SELECT * FROM runs WHERE id = ?"),
    runs: db.prepare("SELECT * FROM runs ORDER BY started_ms DESC, seq DESC LIMIT ?"),
    runsOf: db.prepare("SELECT * FROM runs WHERE environment = ? ORDER BY started_ms DESC, seq DESC LIMIT ?"),
    interrupted: db.prepare(
      "SELECT * FROM runs WHERE outcome = 'interrupted' ORDER BY started_ms DESC, seq DESC",
    ),
    openRuns: db.prepare("SELECT * FROM runs WHERE ended_at IS NULL ORDER BY started_ms DESC, seq DESC"),
    // Two processes may report out of order; a state never replaces a newer one.
    setStatus: db.prepare(
      `INSERT INTO statuses (environment, branch, stack, status, reason, head_commit, deployed_commit,
         pending_count, drift_count, last_run_id, last_run_at, updated_at, updated_ms, stale)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (environment) DO UPDATE SET
         branch = excluded.branch, stack = excluded.stack, status = excluded.status,
         reason = excluded.reason, head_commit = excluded.head_commit,
         deployed_commit = excluded.deployed_commit, pending_count = excluded.pending_count,
         drift_count = excluded.drift_count, last_run_id = excluded.last_run_id,
         last_run_at = excluded.last_run_at, updated_at = excluded.updated_at,
         updated_ms = excluded.updated_ms, stale = excluded.stale
       WHERE excluded.updated_ms >= statuses.updated_ms`,
    ),
    statuses: db.prepare("SELECT * FROM statuses ORDER BY environment"),
    status: db.prepare("SELECT * FROM statuses WHERE environment = ?"),
    setEnvironmentList: db.prepare(
      "INSERT INTO environment_list (id, environments) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET environments = excluded.environments",
    ),
    environmentList: db.prepare("SELECT environments FROM environment_list WHERE id = 1"),
    insertReport: db.prepare(
      `INSERT INTO reports (run_id, environment, status, started_at, started_ms, body)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO NOTHING`,
    ),
    reportCount: db.prepare("SELECT count(*) AS n FROM reports WHERE environment = ?"),
    // The newest report with another status ends the series; the oldest report after it began it.
    statusSince: db.prepare(
      `WITH other AS (
         SELECT started_ms, seq FROM reports WHERE environment = :environment AND status <> :status
         ORDER BY started_ms DESC, seq DESC LIMIT 1)
       SELECT started_at FROM reports
       WHERE environment = :environment
         AND (NOT EXISTS (SELECT 1 FROM other) OR (started_ms, seq) > (SELECT started_ms, seq FROM other))
       ORDER BY started_ms, seq LIMIT 1`,
    ),
    reportBody: db.prepare("SELECT body FROM reports WHERE run_id = ?"),
    latestReport: db.prepare(
      "SELECT run_id, body FROM reports WHERE environment = ? ORDER BY started_ms DESC, seq DESC LIMIT 1",
    ),
    reports: db.prepare(
      `SELECT run_id, started_at, status FROM reports WHERE environment = ?
       ORDER BY started_ms DESC, seq DESC LIMIT ? OFFSET ?`,
    ),
    // A second active approval of the same plan by the same approver hits approvals_active: ignored.
    insertApproval: db.prepare(
      `INSERT INTO approvals (id, environment, commit_sha, plan_digest, approver, owner, scope, comment, at, at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ),
    approval: db.prepare("SELECT * FROM approvals WHERE id = ?"),
    activeApprovals: db.prepare(
      `SELECT * FROM approvals WHERE environment = ? AND revoked_at IS NULL
       ORDER BY at_ms DESC, seq DESC`,
    ),
    allApprovals: db.prepare("SELECT * FROM approvals WHERE environment = ? ORDER BY at_ms DESC, seq DESC"),
    revocable: db.prepare(
      `SELECT * FROM approvals WHERE environment = :environment AND revoked_at IS NULL
         AND (:approver IS NULL OR approver = :approver)
         AND (:digest IS NULL OR plan_digest = :digest)
         AND (:id IS NULL OR id = :id)
       ORDER BY at_ms DESC, seq DESC`,
    ),
    revoke: db.prepare("UPDATE approvals SET revoked_at = ?, revoked_by = ? WHERE seq = ?"),
    // Successes may be recorded out of order (two processes): the earliest first and latest last win.
    recordSuccess: db.prepare(
      `INSERT INTO successes (environment, program_tree, commit_sha, first_at, first_ms, last_at, last_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (environment, program_tree) DO UPDATE SET
         first_at = CASE WHEN excluded.first_ms < successes.first_ms THEN excluded.first_at ELSE successes.first_at END,
         first_ms = min(excluded.first_ms, successes.first_ms),
         commit_sha = CASE WHEN excluded.last_ms >= successes.last_ms THEN excluded.commit_sha ELSE successes.commit_sha END,
         last_at = CASE WHEN excluded.last_ms >= successes.last_ms THEN excluded.last_at ELSE successes.last_at END,
         last_ms = max(excluded.last_ms, successes.last_ms)`,
    ),
    success: db.prepare("SELECT * FROM successes WHERE environment = ? AND program_tree = ?"),
    saveCommandResult: db.prepare(
      `INSERT INTO check_results (environment, key, at_ms, body) VALUES (?, ?, ?, ?)
       ON CONFLICT (environment, key) DO UPDATE SET at_ms = excluded.at_ms, body = excluded.body
       WHERE excluded.at_ms >= check_results.at_ms`,
    ),
    checkResult: db.prepare("SELECT * FROM check_results WHERE environment = ? AND key = ?"),
    lease: db.prepare("SELECT * FROM leases WHERE key = ?"),
    // substr, not LIKE: a prefix may hold % or _.
    leases: db.prepare(
      `SELECT * FROM leases
       WHERE EXISTS (SELECT 1 FROM json_each(?) AS p WHERE substr(leases.key, 1, length(p.value)) = p.value)
       ORDER BY key`,
    ),
    putLease: db.prepare(
      `INSERT INTO leases (key, owner, acquired_at, renewed_at, expires_at, expires_ms)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, acquired_at = excluded.acquired_at,
         renewed_at = excluded.renewed_at, expires_at = excluded.expires_at, expires_ms = excluded.expires_ms`,
    ),
    releaseLease: db.prepare("DELETE FROM leases WHERE key = ? AND owner = ?"),
    renewLeases: db.prepare(
      `UPDATE leases SET renewed_at = ?, expires_at = ?, expires_ms = ?
       WHERE owner = ? AND key IN (SELECT value FROM json_each(?)) RETURNING key`,
    ),
    insertRequest: db.prepare(
      `INSERT INTO requests (environment, reason, priority, actor, look, at, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
       RETURNING seq`,
    ),
    requestsSince: db.prepare("SELECT * FROM requests WHERE seq > ? ORDER BY seq LIMIT ?"),
    pruneRequests: db.prepare("DELETE FROM requests WHERE at_ms < ?"),
    webhookVerified: db.prepare(
      `INSERT INTO webhook_deliveries (provider, repository, last_verified_at, last_verified_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT (provider, repository) DO UPDATE SET last_verified_at = excluded.last_verified_at,
         last_verified_ms = excluded.last_verified_ms
       WHERE last_verified_ms IS NULL OR last_verified_ms < excluded.last_verified_ms`,
    ),
    webhookRefused: db.prepare(
      `INSERT INTO webhook_deliveries (provider, repository, refused, last_refused_at) VALUES (?, ?, 1, ?)
       ON CONFLICT (provider, repository) DO UPDATE SET refused = refused + 1,
         last_refused_at = MAX(COALESCE(last_refused_at, ''), excluded.last_refused_at)`,
    ),
    webhookDeliveries: db.prepare("SELECT * FROM webhook_deliveries ORDER BY provider, repository"),
    insertToken: db.prepare(
      `INSERT INTO tokens (name, secret_hash, owner, scopes, created_at, created_by, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ),
    tokens: db.prepare("SELECT * FROM tokens ORDER BY name"),
    token: db.prepare("SELECT * FROM tokens WHERE name = ?"),
    tokenByHash: db.prepare("SELECT * FROM tokens WHERE secret_hash = ?"),
    touchToken: db.prepare(
      `UPDATE tokens SET last_used_at = ?, last_used_ms = ?
       WHERE name = ? AND (last_used_ms IS NULL OR last_used_ms < ?)`,
    ),
    revokeToken: db.prepare(
      "UPDATE tokens SET revoked_at = ?, revoked_by = ? WHERE name = ? AND revoked_at IS NULL",
    ),
  };

  const getRun = (id: string): RunRecord | undefined => {
    const row = sql.run.get(id);
    return row ? runFromRow(row) : undefined;
  };

  const readReport = (runId: string, body: SQLOutputValue): RunReport =>
    storedReport(runId, parseJson(body, `report of run ${runId}`));

  // acquire's decision, inside the caller's transaction.
  const takeLease = (
    key: string,
    owner: string,
    ttlMs: number,
    now: string,
    nowMs: number,
    isDead?: IsDead,
  ): Lease | undefined => {
    const row = sql.lease.get(key);
    const held = row ? leaseFromRow(row) : undefined;
    if (!held) return putLease(key, owner, ttlMs, now);
    if (held.owner === owner) return putLease(key, owner, ttlMs, now, held.acquiredAt);
    const free = Number(row?.expires_ms) <= nowMs || (isDead?.(held.owner, held.renewedAt) ?? false);
    return free ? putLease(key, owner, ttlMs, now) : undefined;
  };

  // The lease written for `owner` from `now`, keeping the acquisition time of a holder renewing it.
  const putLease = (key: string, owner: string, ttlMs: number, now: string, acquiredAt?: string): Lease => {
    const nowMs = epochMs(now, "now");
    const lease: Lease = {
      key,
      owner,
      acquiredAt: acquiredAt ?? now,
      renewedAt: now,
      expiresAt: new Date(nowMs + ttlMs).toISOString(),
    };
    sql.putLease.run(key, owner, lease.acquiredAt, lease.renewedAt, lease.expiresAt, nowMs + ttlMs);
    return lease;
  };

  let closed = false;

  const store: Synchronous<Store> = {
    ...sqliteNotificationStore(db),
    startRun(run: NewRun): void {
      const changes = sql.insertRun.run(...runValues(run)).changes;
      if (Number(changes) === 0) throw new StoreError("conflict", `run ${run.id} already exists`);
    },

    finishRun(id: string, outcome: RunOutcome, error?: RunRecord["error"]): void {
      const endedAt = now().toISOString();
      const changes = sql.finishRun.run(endedAt, outcome, error ? JSON.stringify(error) : null, id).changes;
      if (Number(changes) > 0) return;
      const existing = getRun(id);
      if (!existing) throw new StoreError("not-found", `run ${id} does not exist`);
      throw new StoreError(
        "conflict",
        `run ${id} already ended (${existing.outcome} at ${existing.endedAt})`,
      );
    },

    setRunCommit(id: string, commit: string): void {
      const { changes } = sql.setRunCommit.run(nonEmpty(commit, "commit"), id);
      if (Number(changes) === 0) throw new StoreError("not-found", `run ${id} does not exist`);
    },

    heartbeat(owner: string, at: string): number {
      const ms = epochMs(at, "at");
      return immediate(db, () => {
        sql.heartbeat.run(at, ms, nonEmpty(owner, "owner"), ms);
        return Number(sql.ownerRunsOpen.get(owner)?.n ?? 0);
      });
    },

    runs(filter: RunFilter = {}): RunRecord[] {
      const limit = filter.limit === undefined ? NO_LIMIT : positiveInteger(filter.limit, "limit");
      const rows =
        filter.environment === undefined ? sql.runs.all(limit) : sql.runsOf.all(filter.environment, limit);
      return rows.map(runFromRow);
    },

    run: getRun,

    interruptedRuns(): RunRecord[] {
      return sql.interrupted.all().map(runFromRow);
    },

    markInterrupted({ now: at, isDead }: InterruptSweep): RunRecord[] {
      epochMs(at, "now");
      return immediate(db, () =>
        sql.openRuns
          .all()
          .map(runFromRow)
          .filter((run) => isDead(run.owner, run.heartbeatAt))
          .map((run) => {
            const error = interruptedError(run);
            sql.finishRun.run(at, "interrupted", JSON.stringify(error), run.id);
            return { ...run, endedAt: at, outcome: "interrupted" as const, error };
          }),
      );
    },

    setStatus(state: EnvironmentState): void {
      sql.setStatus.run(...statusValues(state));
    },

    statuses(): EnvironmentState[] {
      return sql.statuses.all().map(stateFromRow);
    },

    status(environment: string): EnvironmentState | undefined {
      const row = sql.status.get(environment);
      return row ? stateFromRow(row) : undefined;
    },

    setEnvironmentList(environments: readonly ListedEnvironment[]): void {
      sql.setEnvironmentList.run(environmentListText(environments));
    },

    environmentList(): ListedEnvironment[] | undefined {
      const row = sql.environmentList.get();
      return row ? environmentListFromText(row.environments) : undefined;
    },

    saveReport(report: RunReport): void {
      validReport(report);
      const body = JSON.stringify(report);
      const { changes } = sql.insertReport.run(
        report.runId,
        report.environment,
        report.status,
        report.startedAt,
        epochMs(report.startedAt, "startedAt"),
        body,
      );
      if (Number(changes) > 0) return;
      // Saving the same report again (a retried write) is fine; rewriting history is not.
      const stored = sql.reportBody.get(report.runId);
      if (stored && deepEqual(parseJson(stored.body, `report of run ${report.runId}`), JSON.parse(body)))
        return;
      throw new StoreError("conflict", `a different report for run ${report.runId} is already stored`);
    },

    latestReport(environment: string): RunReport | undefined {
      const row = sql.latestReport.get(environment);
      return row ? readReport(String(row.run_id), row.body) : undefined;
    },

    reports(environment: string, limit: number, offset = 0): ReportSummary[] {
      return sql.reports
        .all(environment, positiveInteger(limit, "limit"), count(offset, "offset"))
        .map(summaryFromRow);
    },

    reportCount(environment: string): number {
      return Number(sql.reportCount.get(environment)?.n ?? 0);
    },

    statusSince(environment: string, status: string): string | undefined {
      const row = sql.statusSince.get({ environment, status });
      return row ? String(row.started_at) : undefined;
    },

    report(runId: string): RunReport | undefined {
      const row = sql.reportBody.get(runId);
      return row ? readReport(runId, row.body) : undefined;
    },

    addApproval(approval: Approval): void {
      const { approval: a, atMs } = newApproval(approval);
      immediate(db, () => {
        const row = sql.approval.get(a.id);
        if (row) {
          // A retried write is fine (even after a revocation); a different approval under that id is not.
          const { revokedAt: _at, revokedBy: _by, ...stored } = approvalFromRow(row);
          if (deepEqual(stored, a)) return;
          throw new StoreError("conflict", `a different approval with id ${a.id} is already stored`);
        }
        sql.insertApproval.run(...approvalValues(a, atMs));
      });
    },

    approvals(environment: string, query: ApprovalQuery = {}): Approval[] {
      const rows = query.includeRevoked
        ? sql.allApprovals.all(environment)
        : sql.activeApprovals.all(environment);
      return rows.map(approvalFromRow);
    },

    revokeApprovals(environment: string, revocation: Revocation): Approval[] {
      checkRevocation(revocation);
      return immediate(db, () =>
        sql.revocable
          .all({
            environment,
            approver: revocation.approver ?? null,
            digest: revocation.planDigest ?? null,
            id: revocation.id ?? null,
          })
          .map((row) => {
            sql.revoke.run(revocation.at, revocation.by, row.seq);
            return { ...approvalFromRow(row), revokedAt: revocation.at, revokedBy: revocation.by };
          }),
      );
    },

    recordSuccess(success: NewSuccess): void {
      const s = validInput(NewSuccessSchema, success, "success");
      const ms = epochMs(s.at, "at");
      sql.recordSuccess.run(s.environment, s.programTree, s.commit, s.at, ms, s.at, ms);
    },

    success(environment: string, programTree: string): ProgramSuccess | undefined {
      const row = sql.success.get(environment, programTree);
      return row ? successFromRow(row) : undefined;
    },

    saveCommandResult(environment: string, key: string, result: CommandResult): void {
      const { result: r, atMs } = newCheckResult(environment, key, result);
      sql.saveCommandResult.run(environment, key, atMs, JSON.stringify(r));
    },

    commandResult(environment: string, key: string): CommandResult | undefined {
      const row = sql.checkResult.get(environment, key);
      return row ? commandResultFromRow(row) : undefined;
    },

    acquire(key: string, owner: string, ttlMs: number, now: string, isDead?: IsDead): Lease | undefined {
      leaseArguments(key, owner, ttlMs);
      const nowMs = epochMs(now, "now");
      return immediate(db, () => takeLease(key, owner, ttlMs, now, nowMs, isDead));
    },

    acquireLeases(keys: string[], owner: string, ttlMs: number, now: string, isDead?: IsDead): string[] {
      for (const key of keys) leaseArguments(key, owner, ttlMs);
      const nowMs = epochMs(now, "now");
      return immediate(db, () => keys.filter((key) => takeLease(key, owner, ttlMs, now, nowMs, isDead)));
    },

    renew(key: string, owner: string, ttlMs: number, now: string): Lease | undefined {
      leaseArguments(key, owner, ttlMs);
      epochMs(now, "now");
      return immediate(db, () => {
        const row = sql.lease.get(key);
        const held = row ? leaseFromRow(row) : undefined;
        return held?.owner === owner ? putLease(key, owner, ttlMs, now, held.acquiredAt) : undefined;
      });
    },

    renewLeases(keys: string[], owner: string, ttlMs: number, now: string): string[] {
      for (const key of keys) leaseArguments(key, owner, ttlMs);
      const nowMs = epochMs(now, "now");
      const rows = sql.renewLeases.all(
        now,
        new Date(nowMs + ttlMs).toISOString(),
        nowMs + ttlMs,
        owner,
        JSON.stringify(keys),
      );
      return rows.map((row) => String(row.key));
    },

    release(key: string, owner: string): boolean {
      return Number(sql.releaseLease.run(key, owner).changes) > 0;
    },

    holder(key: string): Lease | undefined {
      const row = sql.lease.get(key);
      return row ? leaseFromRow(row) : undefined;
    },

    leases(prefix: string | readonly string[]): Lease[] {
      return sql.leases.all(JSON.stringify(typeof prefix === "string" ? [prefix] : prefix)).map(leaseFromRow);
    },

    addRequest(request: NewWorkRequest): number {
      const r = validInput(NewWorkRequestSchema, request, "work request");
      const row = sql.insertRequest.get(
        r.environment,
        r.reason,
        r.priority,
        r.actor ?? null,
        r.look ?? null,
        r.at,
        epochMs(r.at, "at"),
      );
      return Number(row?.seq);
    },

    requestsSince(seq: number, limit?: number): WorkRequest[] {
      const max = limit === undefined ? NO_LIMIT : positiveInteger(limit, "limit");
      return sql.requestsSince.all(count(seq, "seq"), max).map(requestFromRow);
    },

    pruneRequests(before: string): number {
      return Number(sql.pruneRequests.run(epochMs(before, "before")).changes);
    },

    recordWebhook(mark: WebhookDeliveryMark): void {
      const m = webhookMark(mark);
      if (m.outcome === "verified")
        sql.webhookVerified.run(m.provider, m.repository, m.at, epochMs(m.at, "at"));
      else sql.webhookRefused.run(m.provider, m.repository, m.at);
    },

    webhookDeliveries(): WebhookDeliveryStats[] {
      return sql.webhookDeliveries.all().map(webhookStatsFromRow);
    },

    addToken(token: NewToken): void {
      const t = validInput(NewTokenSchema, token, `token ${String(token?.name)}`);
      const added = sql.insertToken.run(...tokenValues(t));
      if (Number(added.changes) === 0) throw tokenTaken(t.name);
    },

    tokens(): TokenRecord[] {
      return sql.tokens.all().map(tokenFromRow);
    },

    tokenByHash(secretHash: string): TokenRecord | undefined {
      const row = sql.tokenByHash.get(nonEmpty(secretHash, "secretHash"));
      return row ? tokenFromRow(row) : undefined;
    },

    touchToken(name: string, at: string): void {
      const ms = epochMs(at, "at");
      sql.touchToken.run(at, ms, nonEmpty(name, "name"), ms);
    },

    revokeToken(name: string, by: string, at: string): TokenRecord | undefined {
      nonEmpty(by, "by");
      epochMs(at, "at");
      return immediate(db, () => {
        sql.revokeToken.run(at, by, nonEmpty(name, "name"));
        const row = sql.token.get(name);
        return row ? tokenFromRow(row) : undefined;
      });
    },

    close(): void {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
  return store;
}
