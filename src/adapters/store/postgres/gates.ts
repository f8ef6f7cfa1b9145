import type pg from "pg";
import type { Approval, CommandResult } from "../../../domain/gates";
import { deepEqual } from "../../../domain/values";
import { StoreError } from "../errors";
import type {
  ApprovalQuery,
  ApprovalStore,
  CommandResultStore,
  NewSuccess,
  ProgramSuccess,
  Revocation,
  SuccessStore,
} from "../port";
import {
  approvalFromRow,
  commandResultFromRow,
  NewSuccessSchema,
  successFromRow,
  validInput,
  type Row,
} from "../rows";
import { approvalValues } from "../values";
import { checkRevocation, epochMs, newApproval, newCheckResult } from "../validate";

// What the gates read on PostgreSQL: approvals and their revocations, successes, cached check results.

const NEWEST = "ORDER BY at_ms DESC, seq DESC";

export function postgresGateStore(pool: pg.Pool): ApprovalStore & SuccessStore & CommandResultStore {
  return {
    async addApproval(approval: Approval): Promise<void> {
      const { approval: a, atMs } = newApproval(approval);
      // A second approval of the same plan by the same approver hits approvals_active: ignored.
      const { rowCount } = await pool.query(
        `INSERT INTO approvals (id, environment, commit_sha, plan_digest, approver, owner, scope, comment, at, at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
        approvalValues(a, atMs),
      );
      if (rowCount !== null && rowCount > 0) return;
      const { rows } = await pool.query<Row>("SELECT * FROM approvals WHERE id = $1", [a.id]);
      if (!rows[0]) return; // the same plan approved under another id: nothing to add
      // A retried write is fine (even after a revocation); a different approval under that id is not.
      const { revokedAt: _at, revokedBy: _by, ...stored } = approvalFromRow(rows[0]);
      if (deepEqual(stored, a)) return;
      throw new StoreError("conflict", `a different approval with id ${a.id} is already stored`);
    },

    async approvals(environment: string, query: ApprovalQuery = {}): Promise<Approval[]> {
      const active = query.includeRevoked ? "" : "AND revoked_at IS NULL";
      const { rows } = await pool.query<Row>(
        `SELECT * FROM approvals WHERE environment = $1 ${active} ${NEWEST}`,
        [environment],
      );
      return rows.map(approvalFromRow);
    },

    async revokeApprovals(environment: string, revocation: Revocation): Promise<Approval[]> {
      checkRevocation(revocation);
      // One statement: two replicas revoking at once each revoke an approval at most once between them.
      const { rows } = await pool.query<Row>(
        `UPDATE approvals SET revoked_at = $1, revoked_by = $2
         WHERE environment = $3 AND revoked_at IS NULL
           AND ($4::text IS NULL OR approver = $4)
           AND ($5::text IS NULL OR plan_digest = $5)
           AND ($6::text IS NULL OR id = $6)
         RETURNING *`,
        [
          revocation.at,
          revocation.by,
          environment,
          revocation.approver ?? null,
          revocation.planDigest ?? null,
          revocation.id ?? null,
        ],
      );
      return rows
        .sort((a, b) => Number(b.at_ms) - Number(a.at_ms) || Number(b.seq) - Number(a.seq))
        .map(approvalFromRow);
    },

    async recordSuccess(success: NewSuccess): Promise<void> {
      const s = validInput(NewSuccessSchema, success, "success");
      const ms = epochMs(s.at, "at");
      // Successes may be recorded out of order (two processes): the earliest first and latest last win.
      await pool.query(
        `INSERT INTO successes (environment, program_tree, commit_sha, first_at, first_ms, last_at, last_ms)
         VALUES ($1, $2, $3, $4, $5, $4, $5)
         ON CONFLICT (environment, program_tree) DO UPDATE SET
           first_at = CASE WHEN excluded.first_ms < successes.first_ms THEN excluded.first_at ELSE successes.first_at END,
           first_ms = least(excluded.first_ms, successes.first_ms),
           commit_sha = CASE WHEN excluded.last_ms >= successes.last_ms THEN excluded.commit_sha ELSE successes.commit_sha END,
           last_at = CASE WHEN excluded.last_ms >= successes.last_ms THEN excluded.last_at ELSE successes.last_at END,
           last_ms = greatest(excluded.last_ms, successes.last_ms)`,
        [s.environment, s.programTree, s.commit, s.at, ms],
      );
    },

    async success(environment: string, programTree: string): Promise<ProgramSuccess | undefined> {
      const { rows } = await pool.query<Row>(
        "SELECT * FROM successes WHERE environment = $1 AND program_tree = $2",
        [environment, programTree],
      );
      return rows[0] ? successFromRow(rows[0]) : undefined;
    },

    async saveCommandResult(environment: string, key: string, result: CommandResult): Promise<void> {
      const { result: r, atMs } = newCheckResult(environment, key, result);
      await pool.query(
        `INSERT INTO check_results (environment, key, at_ms, body) VALUES ($1, $2, $3, $4)
         ON CONFLICT (environment, key) DO UPDATE SET at_ms = excluded.at_ms, body = excluded.body
         WHERE excluded.at_ms >= check_results.at_ms`,
        [environment, key, atMs, JSON.stringify(r)],
      );
    },

    async commandResult(environment: string, key: string): Promise<CommandResult | undefined> {
      const { rows } = await pool.query<Row>(
        "SELECT * FROM check_results WHERE environment = $1 AND key = $2",
        [environment, key],
      );
      return rows[0] ? commandResultFromRow(rows[0]) : undefined;
    },
  };
}
