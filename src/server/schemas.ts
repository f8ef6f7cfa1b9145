import { z } from "@hono/zod-openapi";
import { AUDIT_ACTIONS, AuditEntry } from "../adapters/audit/entry";
import {
  CommitInfoSchema,
  EnvironmentStatusSchema,
  GateVerdictSchema,
  ChangeSetSchema,
  CountedApprovalSchema,
  RunReportSchema as ReportFileSchema,
} from "../domain/report-schema";
import { DRIFT_RESOLUTIONS } from "../domain/gates";

// The API's request and response shapes: the zod schemas routes validate with and the OpenAPI
// document is generated from. The report is the same versioned schema as the JSON report files.

/** The report, as the JSON report files hold it (schema/report.schema.json). */
export const RunReportSchema = ReportFileSchema.meta({ id: "RunReport" });

const timestamp = z.iso.datetime({ offset: true });

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: "urn:tidegate:problem:not-found" }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    kind: z
      .enum([
        "invalid",
        "not-found",
        "conflict",
        "refused",
        "unauthorized",
        "unavailable",
        "timeout",
        "interrupted",
        "internal",
      ])
      .describe("The same kinds as the CLI's errors (and its exit codes)."),
    recovery: z.string().optional().describe("What to do, in one sentence."),
    field: z.string().optional().describe("For a bad request: the field at fault."),
  })
  .openapi("Problem", { description: "An RFC 9457 problem (application/problem+json)." });

const StalenessSchema = z.object({ since: timestamp, lastPollAt: timestamp.optional(), reason: z.string() });

/** A person's one-off way out of drift (README "Resolving drift"); the dashboard's forms take it too. */
export const ResolveField = z.enum(DRIFT_RESOLUTIONS, {
  error: 'expected "restore-drift" or "accept-drift"',
});

const PlanRefSchema = z
  .object({
    commit: z.string(),
    digest: z.string(),
    remediate: z.boolean(),
    resolve: z.enum(DRIFT_RESOLUTIONS).optional(),
  })
  .openapi("PlanRef", { description: "The plan the gates judged; approvals bind to its digest." });

export const EnvironmentSchema = z
  .object({
    environment: z.string(),
    branch: z.string(),
    stack: z.string(),
    status: EnvironmentStatusSchema,
    reason: z.string().optional(),
    statusSince: timestamp
      .optional()
      .describe("When the environment entered its status (the oldest run of the newest series with it)."),
    headCommit: z.string().optional(),
    deployedCommit: z.string().optional(),
    head: CommitInfoSchema.optional().describe("The head commit, with author and message, as last checked."),
    pendingCount: z.number().int(),
    driftCount: z.number().int(),
    lastRunId: z.string().optional(),
    lastRunAt: timestamp.optional(),
    updatedAt: timestamp.optional(),
    stale: StalenessSchema.optional(),
    plan: PlanRefSchema.optional(),
    gates: z.array(GateVerdictSchema),
  })
  .openapi("Environment");

export const EnvironmentListSchema = z.object({ environments: z.array(EnvironmentSchema) });

export const PlanViewSchema = z
  .object({
    environment: z.string(),
    runId: z.string().describe("The check that computed it."),
    checkedAt: timestamp,
    status: EnvironmentStatusSchema,
    reason: z.string().optional(),
    plan: PlanRefSchema.optional().describe("Absent when there is nothing to apply."),
    gates: z.array(GateVerdictSchema),
    approvals: z.array(CountedApprovalSchema),
    pending: ChangeSetSchema.optional(),
    drift: ChangeSetSchema.optional(),
  })
  .openapi("PlanView", {
    description: "The plan of the latest check and every gate's verdict; approve it with its digest.",
  });

const paging = { page: z.number().int(), limit: z.number().int(), total: z.number().int() };

export const HistoryEntrySchema = z
  .object({
    runId: z.string(),
    startedAt: timestamp,
    status: EnvironmentStatusSchema,
    kind: z.enum(["check", "drift", "sync"]).optional(),
    mode: z.enum(["report", "reconcile"]).optional(),
    trigger: z.string().optional(),
    commit: z.string().optional(),
    endedAt: timestamp.optional(),
    outcome: z.enum(["succeeded", "failed", "interrupted", "skipped"]).optional(),
    sync: z
      .object({
        applied: z.boolean(),
        summary: z.record(z.string(), z.number()).optional(),
        windowClosedDuringUpdate: z.string().optional(),
      })
      .optional()
      .openapi({ description: "What the run's sync applied, by operation." }),
  })
  .openapi("HistoryEntry");

export const HistoryPageSchema = z.object({ items: z.array(HistoryEntrySchema), ...paging });

export const PagingQuery = z.object({
  page: z.coerce.number().int().min(1).default(1).openapi({ description: "1-based page." }),
  limit: z.coerce.number().int().min(1).max(500).default(50).openapi({ description: "Items per page." }),
});

export const ApprovalSchema = z
  .object({
    id: z.string(),
    environment: z.string(),
    commit: z.string(),
    planDigest: z.string(),
    approver: z.string(),
    scope: z.enum(["sync", "protected"]),
    comment: z.string().optional(),
    at: timestamp,
    revokedAt: timestamp.optional(),
    revokedBy: z.string().optional(),
  })
  .openapi("Approval");

export const ApproveBody = z
  .object({
    digest: z
      .string()
      .min(12)
      .describe("The digest of the plan the person reviewed (GET .../plan); refused with 409 when stale."),
    protected: z.boolean().optional().describe("Also approve the plan's protected operations."),
    comment: z.string().max(1000).optional(),
    resolve: ResolveField.optional().describe(
      "Approve the restore or the accept of the drift (POST .../plan with it shows its digest), not a plain sync.",
    ),
  })
  .openapi("ApproveRequest");

export const PreviewBody = z
  .object({
    resolve: ResolveField.optional().describe(
      "Preview the restore or the accept of the drift instead of a plain sync; its digest is its own.",
    ),
  })
  .openapi("PreviewRequest");

export const ResolveDriftBody = z
  .object({
    resolve: ResolveField.describe(
      "restore-drift: a remediating sync, once, whatever drift.policy; accept-drift: a Pulumi refresh taking the live values into the deployed state.",
    ),
  })
  .openapi("ResolveDriftRequest");

export const ApprovedSchema = z
  .object({ approval: ApprovalSchema, report: RunReportSchema })
  .openapi("Approved", { description: "The approval, and the fresh check it is for." });

export const RevokeBody = z
  .object({
    approver: z
      .string()
      .min(1)
      .optional()
      .describe("Revoke this approver's approvals (default: the token's)."),
    all: z.boolean().optional().describe("Revoke every active approval of the environment."),
  })
  .openapi("RevokeRequest");

export const RevokedSchema = z.object({ revoked: z.array(ApprovalSchema) });

export const RequestAcceptedSchema = z
  .object({
    seq: z.number().int().describe("The request's number in the store's queue."),
    environment: z.string(),
    kind: z.enum(["check", "sync"]),
    at: timestamp,
    follow: z
      .string()
      .describe("GET it to see the run that answers the request (its run id, then its report)."),
  })
  .openapi("RequestAccepted", {
    description:
      "The daemon picks requests up within about a second. No run id exists yet when it is accepted (several requests may fold into one run): follow the link.",
  });

export const RequestProgressSchema = z
  .object({
    seq: z.number().int(),
    environment: z.string(),
    at: timestamp,
    state: z
      .enum(["waiting", "running", "finished"])
      .describe(
        "waiting also when the daemon's look found nothing new to run (no new commit, no gate waiting).",
      ),
    runId: z.string().optional(),
    outcome: z.enum(["succeeded", "failed", "interrupted", "skipped"]).optional(),
    report: z.string().optional().describe("The run's report, once it is finished."),
  })
  .openapi("RequestProgress");

export const PromoteBody = z
  .object({
    from: z.string().min(1).describe("The environment whose branch is merged into this one's."),
    dryRun: z.boolean().default(false).describe("Merge in a scratch worktree and preview; push nothing."),
    allowTargetAhead: z.boolean().optional(),
  })
  .openapi("PromoteRequest");

export const PromoteResultSchema = z
  .object({
    outcome: z.enum(["promoted", "up-to-date", "refused", "dry-run"]),
    reason: z.string(),
    kind: z.enum(["fast-forward", "merge"]).optional(),
    sha: z.string().optional(),
    from: z.object({
      environment: z.string(),
      branch: z.string(),
      head: z.string().optional(),
      deployed: z.string().optional(),
    }),
    to: z.object({ environment: z.string(), branch: z.string(), head: z.string().optional() }),
    actor: z.string(),
    dryRun: z.boolean(),
    targetAhead: z.array(CommitInfoSchema).optional(),
    conflicts: z.array(z.string()).optional(),
    warnings: z.array(z.string()).optional(),
    preview: ChangeSetSchema.optional(),
    startedAt: timestamp,
    endedAt: timestamp,
  })
  .openapi("PromoteResult");

export const AuditQuery = PagingQuery.extend({
  environment: z.string().optional(),
  action: z.enum(AUDIT_ACTIONS).optional(),
  actor: z.string().optional(),
  commit: z.string().optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
});

export const VerifySchema = z
  .object({
    ok: z.boolean(),
    entries: z.number().int().describe("How many entries verified (before the first bad one)."),
    head: z.string().optional().describe("The last entry's hash, when the whole chain verifies."),
    firstBad: z
      .object({ seq: z.number().int().optional(), line: z.number().int(), problem: z.string() })
      .optional(),
  })
  .openapi("AuditVerification");

/** The audit log's own entry schema (the one its reader validates lines with). */
export const AuditEntrySchema = AuditEntry;

export const AuditPageSchema = z.object({
  items: z.array(AuditEntrySchema).describe("Newest first."),
  ...paging,
  verification: VerifySchema,
});

export const EnvParam = z.object({
  env: z
    .string()
    .min(1)
    .openapi({ param: { name: "env", in: "path" }, example: "prod" }),
});
