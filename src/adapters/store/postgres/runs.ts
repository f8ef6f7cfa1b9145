import type pg from "pg";
import type { RunOutcome, RunRecord, RunReport } from "../../../domain/model";
import { deepEqual } from "../../../domain/values";
import { StoreError } from "../errors";
import type {
  EnvironmentState,
  InterruptSweep,
  ListedEnvironment,
  NewRun,
  ReportStore,
  ReportSummary,
  RunFilter,
  RunStore,
  StatusStore,
} from "../port";
import {
  environmentListFromText,
  environmentListText,
  parseJson,
  runFromRow,
  stateFromRow,
  summaryFromRow,
  type Row,
} from "../rows";
import {
  count,
  epochMs,
  interruptedError,
  nonEmpty,
  positiveInteger,
  storedReport,
  validReport,
} from "../validate";
import { runValues, statusValues } from "../values";
import { transaction } from "./pool";

// Runs, environment statuses and reports on PostgreSQL.

const NEWEST = "ORDER BY started_ms DESC, seq DESC";

export function postgresRunStore(pool: pg.Pool, now: () => Date): RunStore & StatusStore & ReportStore {
  const getRun = async (id: string): Promise<RunRecord | undefined> => {
    const { rows } = await pool.query<Row>("SELECT * FROM runs WHERE id = $1", [id]);
    return rows[0] ? runFromRow(rows[0]) : undefined;
  };
  const readReport = (runId: string, body: unknown): RunReport =>
    storedReport(runId, parseJson(body, `report of run ${runId}`));

  return {
    async startRun(run: NewRun): Promise<void> {
      const { rowCount } = await pool.query(
        `INSERT INTO runs (id, environment, stack, kind, triggered_by, commit_sha, mode, owner,
           started_at, started_ms, heartbeat_at, heartbeat_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (id) DO NOTHING`,
        runValues(run),
      );
      if (rowCount === 0) throw new StoreError("conflict", `run ${run.id} already exists`);
    },

    async finishRun(id: string, outcome: RunOutcome, error?: RunRecord["error"]): Promise<void> {
      // The owner of a run knows its outcome better than a startup sweep that marked it interrupted.
      const { rowCount } = await pool.query(
        `UPDATE runs SET ended_at = $1, outcome = $2, error = $3
         WHERE id = $4 AND (ended_at IS NULL OR outcome = 'interrupted')`,
        [now().toISOString(), outcome, error ? JSON.stringify(error) : null, id],
      );
      if (rowCount !== null && rowCount > 0) return;
      const existing = await getRun(id);
      if (!existing) throw new StoreError("not-found", `run ${id} does not exist`);
      throw new StoreError(
        "conflict",
        `run ${id} already ended (${existing.outcome} at ${existing.endedAt})`,
      );
    },

    async setRunCommit(id: string, commit: string): Promise<void> {
      const { rowCount } = await pool.query("UPDATE runs SET commit_sha = $1 WHERE id = $2", [
        nonEmpty(commit, "commit"),
        id,
      ]);
      if (rowCount === 0) throw new StoreError("not-found", `run ${id} does not exist`);
    },

    async heartbeat(owner: string, at: string): Promise<number> {
      const ms = epochMs(at, "at");
      nonEmpty(owner, "owner");
      return transaction(pool, async (client) => {
        await client.query(
          `UPDATE runs SET heartbeat_at = $1, heartbeat_ms = $2
           WHERE owner = $3 AND ended_at IS NULL AND (heartbeat_ms IS NULL OR heartbeat_ms < $2)`,
          [at, ms, owner],
        );
        const { rows } = await client.query<Row>(
          "SELECT count(*)::integer AS n FROM runs WHERE owner = $1 AND ended_at IS NULL",
          [owner],
        );
        return Number(rows[0]?.n ?? 0);
      });
    },

    async runs(filter: RunFilter = {}): Promise<RunRecord[]> {
      const limit = filter.limit === undefined ? null : positiveInteger(filter.limit, "limit");
      const { rows } =
        filter.environment === undefined
          ? await pool.query<Row>(`SELECT * FROM runs ${NEWEST} LIMIT $1`, [limit])
          : await pool.query<Row>(`SELECT * FROM runs WHERE environment = $1 ${NEWEST} LIMIT $2`, [
              filter.environment,
              limit,
            ]);
      return rows.map(runFromRow);
    },

    run: getRun,

    async interruptedRuns(): Promise<RunRecord[]> {
      const { rows } = await pool.query<Row>(`SELECT * FROM runs WHERE outcome = 'interrupted' ${NEWEST}`);
      return rows.map(runFromRow);
    },

    async markInterrupted({ now: at, isDead }: InterruptSweep): Promise<RunRecord[]> {
      epochMs(at, "now");
      // The open runs stay locked while deciding, so two replicas sweeping at once mark each run once.
      return transaction(pool, async (client) => {
        const { rows } = await client.query<Row>(
          `SELECT * FROM runs WHERE ended_at IS NULL ${NEWEST} FOR UPDATE`,
        );
        const marked: RunRecord[] = [];
        for (const run of rows.map(runFromRow)) {
          if (!isDead(run.owner, run.heartbeatAt)) continue;
          const error = interruptedError(run);
          await client.query(
            "UPDATE runs SET ended_at = $1, outcome = 'interrupted', error = $2 WHERE id = $3",
            [at, JSON.stringify(error), run.id],
          );
          marked.push({ ...run, endedAt: at, outcome: "interrupted", error });
        }
        return marked;
      });
    },

    async setStatus(state: EnvironmentState): Promise<void> {
      // Two processes may report out of order; a state never replaces a newer one.
      await pool.query(
        `INSERT INTO statuses (environment, branch, stack, status, reason, head_commit, deployed_commit,
           pending_count, drift_count, last_run_id, last_run_at, updated_at, updated_ms, stale)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (environment) DO UPDATE SET
           branch = excluded.branch, stack = excluded.stack, status = excluded.status,
           reason = excluded.reason, head_commit = excluded.head_commit,
           deployed_commit = excluded.deployed_commit, pending_count = excluded.pending_count,
           drift_count = excluded.drift_count, last_run_id = excluded.last_run_id,
           last_run_at = excluded.last_run_at, updated_at = excluded.updated_at,
           updated_ms = excluded.updated_ms, stale = excluded.stale
         WHERE excluded.updated_ms >= statuses.updated_ms`,
        statusValues(state),
      );
    },

    async statuses(): Promise<EnvironmentState[]> {
      const { rows } = await pool.query<Row>(`SELECT * FROM statuses ORDER BY environment COLLATE "C"`);
      return rows.map(stateFromRow);
    },

    async status(environment: string): Promise<EnvironmentState | undefined> {
      const { rows } = await pool.query<Row>("SELECT * FROM statuses WHERE environment = $1", [environment]);
      return rows[0] ? stateFromRow(rows[0]) : undefined;
    },

    async setEnvironmentList(environments: readonly ListedEnvironment[]): Promise<void> {
      await pool.query(
        `INSERT INTO environment_list (id, environments) VALUES (1, $1)
         ON CONFLICT (id) DO UPDATE SET environments = excluded.environments`,
        [environmentListText(environments)],
      );
    },

    async environmentList(): Promise<ListedEnvironment[] | undefined> {
      const { rows } = await pool.query<Row>("SELECT environments FROM environment_list WHERE id = 1");
      return rows[0] ? environmentListFromText(rows[0].environments) : undefined;
    },

    async saveReport(report: RunReport): Promise<void> {
      validReport(report);
      const body = JSON.stringify(report);
      const { rowCount } = await pool.query(
        `INSERT INTO reports (run_id, environment, status, started_at, started_ms, body)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (run_id) DO NOTHING`,
        [
          report.runId,
          report.environment,
          report.status,
          report.startedAt,
          epochMs(report.startedAt, "startedAt"),
          body,
        ],
      );
      if (rowCount !== null && rowCount > 0) return;
      // Saving the same report again (a retried write) is fine; rewriting history is not.
      const { rows } = await pool.query<Row>("SELECT body FROM reports WHERE run_id = $1", [report.runId]);
      const stored = rows[0];
      if (stored && deepEqual(parseJson(stored.body, `report of run ${report.runId}`), JSON.parse(body)))
        return;
      throw new StoreError("conflict", `a different report for run ${report.runId} is already stored`);
    },

    async latestReport(environment: string): Promise<RunReport | undefined> {
      const { rows } = await pool.query<Row>(
        `SELECT run_id, body FROM reports WHERE environment = $1 ${NEWEST} LIMIT 1`,
        [environment],
      );
      return rows[0] ? readReport(String(rows[0].run_id), rows[0].body) : undefined;
    },

    async reports(environment: string, limit: number, offset = 0): Promise<ReportSummary[]> {
      const { rows } = await pool.query<Row>(
        `SELECT run_id, started_at, status FROM reports WHERE environment = $1 ${NEWEST} LIMIT $2 OFFSET $3`,
        [environment, positiveInteger(limit, "limit"), count(offset, "offset")],
      );
      return rows.map(summaryFromRow);
    },

    async reportCount(environment: string): Promise<number> {
      const { rows } = await pool.query<Row>(
        "SELECT count(*)::integer AS n FROM reports WHERE environment = $1",
        [environment],
      );
      return Number(rows[0]?.n ?? 0);
    },

    async statusSince(environment: string, status: string): Promise<string | undefined> {
      // The newest report with another status ends the series; the oldest report after it began it.
      const { rows } = await pool.query<Row>(
        `WITH other AS (
           SELECT started_ms, seq FROM reports WHERE environment = $1 AND status <> $2 ${NEWEST} LIMIT 1)
         SELECT started_at FROM reports
         WHERE environment = $1
           AND (NOT EXISTS (SELECT 1 FROM other) OR (started_ms, seq) > (SELECT started_ms, seq FROM other))
         ORDER BY started_ms, seq LIMIT 1`,
        [environment, status],
      );
      return rows[0] ? String(rows[0].started_at) : undefined;
    },

    async report(runId: string): Promise<RunReport | undefined> {
      const { rows } = await pool.query<Row>("SELECT body FROM reports WHERE run_id = $1", [runId]);
      return rows[0] ? readReport(runId, rows[0].body) : undefined;
    },
  };
}
