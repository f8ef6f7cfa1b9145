import type { DatabaseSync, SQLOutputValue } from "node:sqlite";
import type { CheckReport, RunOutcome, RunRecord } from "../model";
import { InvalidReportError, parseCheckReport } from "../report/json";
import { deepEqual } from "../pulumi/values";
import { StoreError } from "./errors";
import { busyErrors, immediate, openDatabase } from "./database";
import type { EnvironmentState, NewRun, ReportSummary, RunFilter, Store } from "./port";
import { parseJson, runFromRow, stateFromRow, summaryFromRow } from "./rows";

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
  // Every method reports a lock held too long as StoreError "busy".
  return Object.fromEntries(
    Object.entries(store).map(([name, method]) => [
      name,
      busyErrors(file, busyTimeoutMs, method as (...args: unknown[]) => unknown),
    ]),
  ) as unknown as Store;
}

function sqliteStore(db: DatabaseSync, now: () => Date): Store {
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

  const store: Store = {
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
