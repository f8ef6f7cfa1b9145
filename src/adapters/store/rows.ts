import { z } from "zod";
import type { Approval, CommandResult } from "../../domain/gates";
import type { RunRecord } from "../../domain/model";
import { isScope } from "../../domain/token";
import { EnvironmentStatusSchema } from "../../domain/report-schema";
import { StoreError } from "./errors";
import type {
  EnvironmentState,
  Lease,
  ListedEnvironment,
  NewSuccess,
  NewWorkRequest,
  NewToken,
  ProgramSuccess,
  ReportSummary,
  TokenRecord,
  WebhookDeliveryStats,
  WorkRequest,
} from "./port";

// Rows back into records (SQLite's or PostgreSQL's: column names are the same). The data may have
// been written by another tidegate version, so each record is checked against its schema on the way out.

/** A row as a driver returns it: column name → value. */
export type Row = Record<string, unknown>;

export const RunRecordSchema = z.object({
  id: z.string(),
  environment: z.string(),
  stack: z.string(),
  kind: z.enum(["check", "drift", "sync"]),
  trigger: z.string(),
  commit: z.string().optional(),
  mode: z.enum(["report", "reconcile"]).optional(),
  owner: z.string().optional(),
  heartbeatAt: z.string().optional(),
  startedAt: z.string(),
  endedAt: z.string().optional(),
  outcome: z.enum(["succeeded", "failed", "interrupted", "skipped"]).optional(),
  error: z.object({ kind: z.string(), message: z.string(), recovery: z.string().optional() }).optional(),
});

export const EnvironmentStateSchema = z.object({
  environment: z.string(),
  branch: z.string(),
  stack: z.string(),
  status: EnvironmentStatusSchema,
  reason: z.string().optional(),
  headCommit: z.string().optional(),
  deployedCommit: z.string().optional(),
  pendingCount: z.number().int().nonnegative(),
  driftCount: z.number().int().nonnegative(),
  lastRunId: z.string().optional(),
  lastRunAt: z.string().optional(),
  updatedAt: z.string(),
  stale: z.object({ since: z.string(), lastPollAt: z.string().optional(), reason: z.string() }).optional(),
});

export const ApprovalSchema = z.object({
  id: z.string().min(1),
  environment: z.string().min(1),
  commit: z.string().min(1),
  planDigest: z.string().min(1),
  approver: z.string().min(1),
  owner: z.string().min(1).optional(),
  scope: z.enum(["sync", "protected"]),
  comment: z.string().optional(),
  at: z.string(),
  revokedAt: z.string().optional(),
  revokedBy: z.string().optional(),
});

export const CommandResultSchema = z.object({
  name: z.string(),
  command: z.string(),
  commit: z.string(),
  exitCode: z.number().int().nullable(),
  timedOut: z.boolean(),
  durationMs: z.number().nonnegative(),
  output: z.string(),
  at: z.string(),
});

export const NewSuccessSchema = z.object({
  environment: z.string().min(1),
  commit: z.string().min(1),
  programTree: z.string().min(1),
  at: z.string(),
});

export const NewWorkRequestSchema = z.object({
  environment: z.string().min(1),
  reason: z.string(),
  priority: z.enum(["person", "schedule"]),
  actor: z.string().optional(),
  look: z.enum(["check", "sync"]).optional(),
  at: z.string(),
});

const WorkRequestSchema = NewWorkRequestSchema.extend({ seq: z.number().int().positive() });

const LeaseSchema = z.object({
  key: z.string(),
  owner: z.string(),
  acquiredAt: z.string(),
  renewedAt: z.string(),
  expiresAt: z.string(),
});

export const NewTokenSchema = z.object({
  name: z.string().min(1),
  owner: z.string().min(1),
  scopes: z.array(
    z.string().refine(isScope, "a scope (read, admin, approve:<env>, sync:<env>, promote:<env>)"),
  ),
  secretHash: z.string().regex(/^sha256:[0-9a-f]{64}$/, "sha256:<64 hex digits>"),
  createdAt: z.iso.datetime({ offset: true }),
  createdBy: z.string().min(1),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});

const TokenRecordSchema = NewTokenSchema.omit({ secretHash: true }).extend({
  lastUsedAt: z.string().optional(),
  revokedAt: z.string().optional(),
  revokedBy: z.string().optional(),
});

const ProgramSuccessSchema = z.object({
  environment: z.string(),
  commit: z.string(),
  programTree: z.string(),
  firstAt: z.string(),
  lastAt: z.string(),
});

const ReportSummarySchema = z.object({
  runId: z.string(),
  startedAt: z.string(),
  status: EnvironmentStatusSchema,
});

// Compile-time proof that the schemas and the types agree.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** The configured environments, in order; names unique. */
export const EnvironmentListSchema = z
  .array(
    z.object({
      name: z.string().min(1),
      branch: z.string().min(1),
      stack: z.string().min(1),
      stacks: z.array(z.object({ name: z.string().min(1) })).optional(),
    }),
  )
  .refine((list) => new Set(list.map((env) => env.name)).size === list.length, "names must be unique");

const sameRun: Same<z.infer<typeof RunRecordSchema>, RunRecord> = true;
const sameState: Same<z.infer<typeof EnvironmentStateSchema>, EnvironmentState> = true;
const sameApproval: Same<z.infer<typeof ApprovalSchema>, Approval> = true;
const sameCommandResult: Same<z.infer<typeof CommandResultSchema>, CommandResult> = true;
const sameSuccess: Same<z.infer<typeof ProgramSuccessSchema>, ProgramSuccess> = true;
const sameNewSuccess: Same<z.infer<typeof NewSuccessSchema>, NewSuccess> = true;
const sameNewRequest: Same<z.infer<typeof NewWorkRequestSchema>, NewWorkRequest> = true;
const sameRequest: Same<z.infer<typeof WorkRequestSchema>, WorkRequest> = true;
const sameLease: Same<z.infer<typeof LeaseSchema>, Lease> = true;
const sameNewToken: Same<z.infer<typeof NewTokenSchema>, NewToken> = true;
const sameToken: Same<z.infer<typeof TokenRecordSchema>, TokenRecord> = true;
const sameList: Same<z.infer<typeof EnvironmentListSchema>, ListedEnvironment[]> = true;
void sameNewToken;
void sameToken;
void sameNewRequest;
void sameRequest;
void sameLease;
void sameRun;
void sameState;
void sameApproval;
void sameCommandResult;
void sameSuccess;
void sameNewSuccess;
void sameList;

export function runFromRow(row: Row): RunRecord {
  const id = String(row.id);
  return check(
    RunRecordSchema,
    withoutNulls({
      id: row.id,
      environment: row.environment,
      stack: row.stack,
      kind: row.kind,
      trigger: row.triggered_by,
      commit: row.commit_sha,
      mode: row.mode,
      owner: row.owner,
      heartbeatAt: row.heartbeat_at,
      startedAt: row.started_at,
      endedAt: row.ended_at,
      outcome: row.outcome,
      error: row.error === null ? null : parseJson(row.error, `run ${id}`),
    }),
    `run ${id}`,
  );
}

export function stateFromRow(row: Row): EnvironmentState {
  return check(
    EnvironmentStateSchema,
    withoutNulls({
      environment: row.environment,
      branch: row.branch,
      stack: row.stack,
      status: row.status,
      reason: row.reason,
      headCommit: row.head_commit,
      deployedCommit: row.deployed_commit,
      pendingCount: row.pending_count,
      driftCount: row.drift_count,
      lastRunId: row.last_run_id,
      lastRunAt: row.last_run_at,
      updatedAt: row.updated_at,
      stale:
        row.stale === null || row.stale === undefined
          ? null
          : parseJson(row.stale, `status of environment ${String(row.environment)}`),
    }),
    `status of environment ${String(row.environment)}`,
  );
}

export function summaryFromRow(row: Row): ReportSummary {
  return check(
    ReportSummarySchema,
    { runId: row.run_id, startedAt: row.started_at, status: row.status },
    `report of run ${String(row.run_id)}`,
  );
}

export function approvalFromRow(row: Row): Approval {
  return check(
    ApprovalSchema,
    withoutNulls({
      id: row.id,
      environment: row.environment,
      commit: row.commit_sha,
      planDigest: row.plan_digest,
      approver: row.approver,
      owner: row.owner,
      scope: row.scope,
      comment: row.comment,
      at: row.at,
      revokedAt: row.revoked_at,
      revokedBy: row.revoked_by,
    }),
    `approval ${String(row.id)}`,
  );
}

export function successFromRow(row: Row): ProgramSuccess {
  return check(
    ProgramSuccessSchema,
    {
      environment: row.environment,
      commit: row.commit_sha,
      programTree: row.program_tree,
      firstAt: row.first_at,
      lastAt: row.last_at,
    },
    `success of tree ${String(row.program_tree)} in environment ${String(row.environment)}`,
  );
}

export function leaseFromRow(row: Row): Lease {
  return check(
    LeaseSchema,
    {
      key: row.key,
      owner: row.owner,
      acquiredAt: row.acquired_at,
      renewedAt: row.renewed_at,
      expiresAt: row.expires_at,
    },
    `lease ${String(row.key)}`,
  );
}

export function requestFromRow(row: Row): WorkRequest {
  return check(
    WorkRequestSchema,
    withoutNulls({
      seq: row.seq,
      environment: row.environment,
      reason: row.reason,
      priority: row.priority,
      actor: row.actor,
      look: row.look,
      at: row.at,
    }),
    `work request ${String(row.seq)}`,
  );
}

export function tokenFromRow(row: Row): TokenRecord {
  const what = `token ${String(row.name)}`;
  return check(
    TokenRecordSchema,
    withoutNulls({
      name: row.name,
      owner: row.owner,
      scopes: parseJson(row.scopes, what),
      createdAt: row.created_at,
      createdBy: row.created_by,
      expiresAt: row.expires_at,
      lastUsedAt: row.last_used_at,
      revokedAt: row.revoked_at,
      revokedBy: row.revoked_by,
    }),
    what,
  );
}

export function commandResultFromRow(row: Row): CommandResult {
  const what = `check result ${String(row.key)} of environment ${String(row.environment)}`;
  return check(CommandResultSchema, parseJson(row.body, what), what);
}

/** A webhook_deliveries row as the stats status shows. */
/** The list as stored (JSON text), once checked: only the fields status shows, in order. */
export function environmentListText(environments: readonly ListedEnvironment[]): string {
  const list = validInput(EnvironmentListSchema, environments, "environment list");
  return JSON.stringify(
    list.map(({ name, branch, stack, stacks }) => ({
      name,
      branch,
      stack,
      ...(stacks ? { stacks: stacks.map((s) => ({ name: s.name })) } : {}),
    })),
  );
}

/** The stored list (JSON text) back into environments. */
export function environmentListFromText(text: unknown): ListedEnvironment[] {
  return check(EnvironmentListSchema, parseJson(text, "environment list"), "environment list");
}

export function webhookStatsFromRow(row: Row): WebhookDeliveryStats {
  return {
    provider: String(row.provider),
    repository: String(row.repository),
    ...(row.last_verified_at === null ? {} : { lastVerifiedAt: String(row.last_verified_at) }),
    refused: Number(row.refused),
    ...(row.last_refused_at === null ? {} : { lastRefusedAt: String(row.last_refused_at) }),
  };
}

/** The value, checked against its schema before it is written; a mismatch is "invalid-input". */
export function validInput<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new StoreError("invalid-input", `${what} is invalid: ${issues(result.error)}`, {
    cause: result.error,
  });
}

export function parseJson(text: unknown, what: string): unknown {
  try {
    return JSON.parse(String(text));
  } catch (error) {
    throw new StoreError("corrupt", `stored ${what} is not valid JSON`, { cause: error });
  }
}

// SQL NULL means "not set"; records leave such fields out rather than holding undefined.
function withoutNulls(record: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const key in record) if (record[key] !== null && record[key] !== undefined) kept[key] = record[key];
  return kept;
}

function check<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new StoreError("corrupt", `stored ${what} does not match its schema: ${issues(result.error)}`, {
    cause: result.error,
  });
}

function issues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
}
