import type { DatabaseSync, SQLOutputValue } from "node:sqlite";
import type { Approval, CheckResult } from "../../domain/gates";
import type { CheckReport, RunOutcome, RunRecord } from "../../domain/model";
import { InvalidReportError, parseCheckReport } from "../../domain/report-schema";
import { deepEqual } from "../../domain/values";
import { StoreError } from "./errors";
import { busyErrors, immediate, openDatabase } from "./database";
import type {
  ApprovalQuery,
  EnvironmentState,
  NewRun,
  NewSuccess,
  ProgramSuccess,
  ReportSummary,
  Revocation,
  RunFilter,
  Store,
} from "./port";
import {
  ApprovalSchema,
  approvalFromRow,
  CheckResultSchema,
  checkResultFromRow,
  NewSuccessSchema,
  parseJson,
  runFromRow,
  stateFromRow,
  successFromRow,
  summaryFromRow,
  validInput,
} from "./rows";

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

const INTERRUPTED_RECOVERY: Record<RunRecord["kind"], string> = {
  check: "nothing was changed; the next check runs again.",
  drift: "nothing was changed; the next drift check runs again.",
  sync: "the update may have left pending operations on the stack: run a check of this environment and, if it reports pending operations, follow its recovery step.",
};

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
      `INSERT INTO runs (id, environment, stack, kind, triggered_by, commit_sha, started_at, started_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    ),
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
         pending_count, drift_count, last_run_id, last_run_at, updated_at, updated_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (environment) DO UPDATE SET
         branch = excluded.branch, stack = excluded.stack, status = excluded.status,
         reason = excluded.reason, head_commit = excluded.head_commit,
         deployed_commit = excluded.deployed_commit, pending_count = excluded.pending_count,
         drift_count = excluded.drift_count, last_run_id = excluded.last_run_id,
         last_run_at = excluded.last_run_at, updated_at = excluded.updated_at,
         updated_ms = excluded.updated_ms
       WHERE excluded.updated_ms >= statuses.updated_ms`,
    ),
    statuses: db.prepare("SELECT * FROM statuses ORDER BY environment"),
    status: db.prepare("SELECT * FROM statuses WHERE environment = ?"),
    insertReport: db.prepare(
      `INSERT INTO reports (run_id, environment, status, started_at, started_ms, body)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO NOTHING`,
    ),
    reportBody: db.prepare("SELECT body FROM reports WHERE run_id = ?"),
    latestReport: db.prepare(
      "SELECT run_id, body FROM reports WHERE environment = ? ORDER BY started_ms DESC, seq DESC LIMIT 1",
    ),
    reports: db.prepare(
      `SELECT run_id, started_at, status FROM reports WHERE environment = ?
       ORDER BY started_ms DESC, seq DESC LIMIT ?`,
    ),
    // A second active approval of the same plan by the same approver hits approvals_active: ignored.
    insertApproval: db.prepare(
      `INSERT INTO approvals (id, environment, commit_sha, plan_digest, approver, scope, comment, at, at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
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
    saveCheckResult: db.prepare(
      `INSERT INTO check_results (environment, key, at_ms, body) VALUES (?, ?, ?, ?)
       ON CONFLICT (environment, key) DO UPDATE SET at_ms = excluded.at_ms, body = excluded.body
       WHERE excluded.at_ms >= check_results.at_ms`,
    ),
    checkResult: db.prepare("SELECT * FROM check_results WHERE environment = ? AND key = ?"),
  };

  const getRun = (id: string): RunRecord | undefined => {
    const row = sql.run.get(id);
    return row ? runFromRow(row) : undefined;
  };

  const readReport = (runId: string, body: SQLOutputValue): CheckReport => {
    try {
      return parseCheckReport(parseJson(body, `report of run ${runId}`), `stored report of run ${runId}`);
    } catch (error) {
      if (error instanceof InvalidReportError)
        throw new StoreError("corrupt", error.message, { cause: error });
      throw error;
    }
  };

  let closed = false;

  const store: Synchronous<Store> = {
    startRun(run: NewRun): void {
      const changes = sql.insertRun.run(
        run.id,
        run.environment,
        run.stack,
        run.kind,
        run.trigger,
        run.commit ?? null,
        run.startedAt,
        epochMs(run.startedAt, "startedAt"),
      ).changes;
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

    markInterrupted(at: string): RunRecord[] {
      epochMs(at, "now");
      return immediate(db, () =>
        sql.openRuns.all().map((row) => {
          const run = runFromRow(row);
          const error = {
            kind: "interrupted",
            message: "tidegate stopped before the run ended",
            recovery: INTERRUPTED_RECOVERY[run.kind],
          };
          sql.finishRun.run(at, "interrupted", JSON.stringify(error), run.id);
          return { ...run, endedAt: at, outcome: "interrupted" as const, error };
        }),
      );
    },

    setStatus(state: EnvironmentState): void {
      sql.setStatus.run(
        state.environment,
        state.branch,
        state.stack,
        state.status,
        state.reason ?? null,
        state.headCommit ?? null,
        state.deployedCommit ?? null,
        count(state.pendingCount, "pendingCount"),
        count(state.driftCount, "driftCount"),
        state.lastRunId ?? null,
        state.lastRunAt ?? null,
        state.updatedAt,
        epochMs(state.updatedAt, "updatedAt"),
      );
    },

    statuses(): EnvironmentState[] {
      return sql.statuses.all().map(stateFromRow);
    },

    status(environment: string): EnvironmentState | undefined {
      const row = sql.status.get(environment);
      return row ? stateFromRow(row) : undefined;
    },

    saveReport(report: CheckReport): void {
      try {
        parseCheckReport(report, `report of run ${report.runId}`);
      } catch (error) {
        if (error instanceof InvalidReportError) {
          throw new StoreError("invalid-input", error.message, { cause: error });
        }
        throw error;
      }
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

    latestReport(environment: string): CheckReport | undefined {
      const row = sql.latestReport.get(environment);
      return row ? readReport(String(row.run_id), row.body) : undefined;
    },

    reports(environment: string, limit: number): ReportSummary[] {
      return sql.reports.all(environment, positiveInteger(limit, "limit")).map(summaryFromRow);
    },

    report(runId: string): CheckReport | undefined {
      const row = sql.reportBody.get(runId);
      return row ? readReport(runId, row.body) : undefined;
    },

    addApproval(approval: Approval): void {
      const a = validInput(ApprovalSchema, approval, `approval ${String(approval?.id)}`);
      if (a.revokedAt !== undefined || a.revokedBy !== undefined) {
        throw new StoreError(
          "invalid-input",
          `approval ${a.id} is already revoked: add approvals unrevoked, then revoke them with revokeApprovals`,
        );
      }
      const atMs = epochMs(a.at, "at");
      immediate(db, () => {
        const row = sql.approval.get(a.id);
        if (row) {
          // A retried write is fine (even after a revocation); a different approval under that id is not.
          const { revokedAt: _at, revokedBy: _by, ...stored } = approvalFromRow(row);
          if (deepEqual(stored, a)) return;
          throw new StoreError("conflict", `a different approval with id ${a.id} is already stored`);
        }
        sql.insertApproval.run(
          a.id,
          a.environment,
          a.commit,
          a.planDigest,
          a.approver,
          a.scope,
          a.comment ?? null,
          a.at,
          atMs,
        );
      });
    },

    approvals(environment: string, query: ApprovalQuery = {}): Approval[] {
      const rows = query.includeRevoked
        ? sql.allApprovals.all(environment)
        : sql.activeApprovals.all(environment);
      return rows.map(approvalFromRow);
    },

    revokeApprovals(environment: string, revocation: Revocation): Approval[] {
      if (typeof revocation.by !== "string" || revocation.by === "") {
        throw new StoreError("invalid-input", "revocation.by must name who revokes");
      }
      epochMs(revocation.at, "at");
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

    saveCheckResult(environment: string, key: string, result: CheckResult): void {
      if (environment === "" || key === "") {
        throw new StoreError("invalid-input", "a check result needs an environment and a key");
      }
      const r = validInput(CheckResultSchema, result, `check result ${key}`);
      sql.saveCheckResult.run(environment, key, epochMs(r.at, "at"), JSON.stringify(r));
    },

    checkResult(environment: string, key: string): CheckResult | undefined {
      const row = sql.checkResult.get(environment, key);
      return row ? checkResultFromRow(row) : undefined;
    },

    close(): void {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
  return store;
}

function epochMs(iso: string, field: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new StoreError("invalid-input", `${field} '${iso}' is not an ISO 8601 time`);
  return ms;
}

function positiveInteger(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new StoreError("invalid-input", `${field} must be a positive integer, got ${value}`);
  }
  return value;
}

function count(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new StoreError("invalid-input", `${field} must be a whole number ≥ 0, got ${value}`);
  }
  return value;
}
