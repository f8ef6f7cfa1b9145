import { z } from "zod";
import { DRIFT_RESOLUTIONS } from "./gates";
import type { RunReport } from "./model";
import { formatPath } from "./property-path";

// The check report as a versioned JSON document. The schema is the trust boundary for reports read
// back from the store or from disk, and its JSON Schema is published in schema/report.schema.json.

export const REPORT_SCHEMA_VERSION = 1;

const timestamp = (description: string) => z.iso.datetime({ offset: true }).describe(description);

export const EnvironmentStatusSchema = z
  .enum([
    "Synced",
    "OutOfSync",
    "Drifted",
    "OutOfSync+Drifted",
    "AwaitingApproval",
    "Blocked",
    "Progressing",
    "Failed",
    "Interrupted",
    "Stalled",
    "Unknown",
  ])
  .describe("The status of the environment after the check.");

export const CommitInfoSchema = z
  .object({
    sha: z.string().min(1).describe("Full commit id."),
    author: z.string().describe("Author name."),
    authorEmail: z.string().describe("Author e-mail address."),
    date: timestamp("Author date, ISO 8601."),
    message: z.string().describe("Full commit message; the first line is its subject."),
  })
  .meta({
    id: "CommitInfo",
    description: "The commit at the head of the environment's branch (the desired state).",
  });

const propertyValue = (description: string) =>
  z
    .unknown()
    .optional()
    .describe(
      `${description} Any JSON value; secrets read "[secret]", values unknown until the update runs read "(known after apply)".`,
    );

export const PropertyChangeSchema = z
  .object({
    path: z.string().describe('Pulumi property path, e.g. tags.team, ports[0].port, tags["a.b"].'),
    kind: z.enum(["add", "delete", "update"]).describe("What happened to this property."),
    old: propertyValue("The deployed value; absent when kind is add."),
    new: propertyValue("The desired value (pending) or live value (drift); absent when kind is delete."),
    replaces: z.boolean().describe("Whether this property forces the resource to be replaced."),
    notRestorable: z
      .string()
      .optional()
      .describe(
        "Drift only: why a remediating update cannot put this property back, and what a person can do.",
      ),
    fieldManager: z
      .string()
      .optional()
      .describe(
        "Drift only, Kubernetes: the field manager that set a field the program does not declare. kubectl's (kubectl, kubectl-*, before-first-apply) are taken over and the field removed by a remediation.",
      ),
  })
  .meta({ id: "PropertyChange", description: "One leaf property that differs." });

const RuleRefShape = {
  rule: z.int().min(0).describe("Its place (from 0) in the environment's drift.ignore list."),
  reason: z.string().describe("Why this drift is expected."),
  owner: z.string().optional().describe("Who answers for the rule."),
  expires: z.string().optional().describe("YYYY-MM-DD: the rule applies through that day (UTC)."),
};

export const IgnoredDriftSchema = z
  .object({
    properties: z
      .array(
        PropertyChangeSchema.extend({
          urn: z.string(),
          type: z.string(),
          name: z.string(),
          ignoredBy: z.object(RuleRefShape).describe("The rule that covers it."),
        }),
      )
      .describe("Drifted properties a rule in force covers: shown, not counted as drift, never reverted."),
    expiredRules: z
      .array(
        z.object({
          ...RuleRefShape,
          covers: z.int().min(0).describe("Drifted properties it would cover: they count as drift again."),
        }),
      )
      .describe("Rules past their expires date: they no longer apply."),
  })
  .meta({ id: "IgnoredDrift", description: "Expected drift, declared in drift.ignore." });

export const ResourceChangeSchema = z
  .object({
    urn: z.string().describe("Pulumi URN of the resource."),
    type: z.string().describe("Pulumi type token, e.g. aws:s3/bucket:Bucket."),
    name: z.string().describe("The resource's logical name (the last URN segment)."),
    action: z
      .enum(["create", "update", "replace", "delete", "drifted", "missing"])
      .describe(
        "Pending: create, update, replace or delete (what an update would do). Drift: drifted (changed outside Pulumi) or missing (gone from the live world).",
      ),
    properties: z
      .array(PropertyChangeSchema)
      .describe("Property-level differences; empty for create, delete, missing."),
    unchanged: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe(
        "How many top-level properties did not change (shown as 'n unchanged properties hidden'); absent for create, delete, missing.",
      ),
  })
  .meta({ id: "ResourceChange", description: "One resource that differs." });

export const ChangeSetSchema = z
  .object({
    kind: z
      .enum(["pending", "drift"])
      .describe("pending: Git (desired) differs from deployed. drift: live differs from deployed."),
    resources: z.array(ResourceChangeSchema).describe("The resources that differ; empty when none does."),
  })
  .meta({ id: "ChangeSet", description: "Resources that differ, with their properties." });

export const GateVerdictSchema = z
  .object({
    gate: z
      .enum(["approval", "promotion", "window", "checks", "protected", "policy"])
      .describe(
        "Which gate: approval, promotion, window (sync windows), checks, protected (operations), policy.",
      ),
    verdict: z
      .enum(["pass", "wait", "block"])
      .describe("pass: the gate allows the sync. wait: it will once somebody approves. block: it refuses."),
    reason: z
      .string()
      .describe("One line a person can act on: who is missing, which window, which check failed."),
  })
  .meta({ id: "GateVerdict", description: "What one gate said about the plan." });

export const CountedApprovalSchema = z
  .object({
    approver: z.string().min(1).describe("Who approved (their actor identity, e.g. an e-mail address)."),
    scope: z
      .enum(["sync", "protected"])
      .describe("sync: the plan. protected: the plan and its protected operations (deletes, replacements)."),
    at: timestamp("When they approved, ISO 8601."),
  })
  .meta({
    id: "CountedApproval",
    description: "An approval that counts for this plan (not revoked, same digest).",
  });

export const CommandResultSchema = z
  .object({
    name: z.string().min(1).describe("The check's name, as the environment declares it."),
    command: z.string().describe("The shell command that ran."),
    commit: z.string().min(1).describe("The commit it ran on."),
    exitCode: z
      .int()
      .nullable()
      .describe("The command's exit code; null when it was killed (timed out or by a signal)."),
    timedOut: z.boolean().describe("Whether it was killed for running longer than its timeout."),
    durationMs: z.number().nonnegative().describe("How long it ran, in milliseconds."),
    output: z
      .string()
      .describe("Combined stdout and stderr; the tail is kept when long, secrets are redacted."),
    at: timestamp("When it started, ISO 8601."),
  })
  .meta({ id: "CommandResult", description: "One check command's outcome." });

export const PolicyViolationSchema = z
  .object({
    pack: z.string().min(1).describe("The policy pack."),
    policy: z.string().min(1).describe("The policy within the pack."),
    level: z.enum(["advisory", "mandatory"]).describe("mandatory blocks the sync; advisory is shown only."),
    urn: z.string().optional().describe("The resource it concerns; absent for a stack-wide finding."),
    message: z.string().describe("What the policy found."),
  })
  .meta({ id: "PolicyViolation", description: "A policy pack's finding on the preview." });

const StackReportSchema = z.object({
  name: z.string().min(1).describe("The stack's name in the environment definition."),
  project: z.string().min(1).describe("The Pulumi project folder, relative to the repository root."),
  stack: z.string().min(1).describe("The Pulumi stack."),
  status: EnvironmentStatusSchema,
  reason: z.string().optional().describe("Why the stack's status is what it is."),
  deployedCommit: z.string().optional().describe("The commit its deployed state came from, after this run."),
  pending: z.number().int().nonnegative().optional().describe("Resources with pending changes found."),
  drift: z.number().int().nonnegative().optional().describe("Drifted resources found."),
  outcome: z
    .enum(["applied", "unchanged", "failed", "skipped", "stopped", "deferred"])
    .describe(
      "applied: updated; unchanged: nothing to apply, or the run did not sync; failed: its preview or update failed; skipped: not started, since a stack it depends on failed; stopped: its observation stopped (e.g. an interrupted update); deferred: its preview waits for the stacks it depends on to be deployed (e.g. a stack reference to outputs not deployed yet).",
    ),
  summary: z
    .record(z.string(), z.number())
    .optional()
    .describe("The update's resources per operation, when one ran."),
});

export const RunReportSchema = z
  .object({
    schemaVersion: z.literal(REPORT_SCHEMA_VERSION).describe("Version of this document's shape."),
    runId: z.string().min(1).describe("The run that produced this report."),
    environment: z.string().min(1).describe("Environment name, e.g. test, stage, prod."),
    stack: z.string().min(1).describe("Pulumi stack of the environment."),
    branch: z.string().min(1).describe("Git branch of the environment."),
    status: EnvironmentStatusSchema,
    reason: z.string().optional().describe("Why the status is what it is, in one line."),
    desired: CommitInfoSchema.optional(),
    deployed: z
      .object({ commit: z.string().optional().describe("The commit the deployed state came from.") })
      .optional()
      .describe("What the Pulumi backend records for the stack."),
    pending: ChangeSetSchema.optional().describe(
      "Pending changes (desired ≠ deployed), from a preview; absent when the check did not get that far.",
    ),
    drift: ChangeSetSchema.optional().describe(
      "Drift (live ≠ deployed), from a refresh preview; absent when the check did not get that far.",
    ),
    ignoredDrift: IgnoredDriftSchema.optional(),
    sync: z
      .object({
        applied: z.boolean().describe("Whether an update ran."),
        summary: z
          .record(z.string(), z.number())
          .optional()
          .describe("Resources per operation, as Pulumi counts them, e.g. { update: 1, same: 4 }."),
        windowClosedDuringUpdate: z
          .string()
          .optional()
          .describe(
            "Set when a sync window closed while the update ran: which one; the update was let finish.",
          ),
      })
      .optional()
      .describe("The sync this run performed, if any."),
    plan: z
      .object({
        commit: z.string().min(1).describe("The commit the plan was previewed at."),
        digest: z
          .string()
          .regex(/^sha256:[0-9a-f]{64}$/, 'expected "sha256:" and 64 hex digits')
          .describe(
            'The plan digest, "sha256:" and 64 hex digits, over environment, stack, commit, pending changes, drift and remediate: equal exactly when those are. Approvals bind to it.',
          ),
        remediate: z
          .boolean()
          .describe("Whether a sync of this plan also restores drift (drift policy remediate)."),
        resolve: z
          .enum(DRIFT_RESOLUTIONS)
          .optional()
          .describe(
            "A person's one-off way out of drift: restore-drift (a remediating sync) or accept-drift (a refresh taking the live values into the deployed state). Part of the digest.",
          ),
      })
      .optional()
      .describe(
        "The plan the gates judged: what a sync would apply. Absent when there was nothing to apply or the check stopped before judging.",
      ),
    gates: z
      .array(GateVerdictSchema)
      .optional()
      .describe(
        "Every gate in force and its verdict, in evaluation order; absent when no gate was evaluated.",
      ),
    approvals: z.array(CountedApprovalSchema).optional().describe("The approvals that count for this plan."),
    checks: z
      .array(CommandResultSchema)
      .optional()
      .describe("The check commands that ran, with their output."),
    policy: z.array(PolicyViolationSchema).optional().describe("Policy pack findings on the preview."),
    gatesChange: z
      .object({
        changes: z.array(z.string()).describe("What the commit changes in the gates, one line each."),
      })
      .optional()
      .describe(
        "Present when the commit being deployed changes this environment's gates: they apply only once it is deployed; until then the gates in force (from the deployed commit) decide.",
      ),
    dependencies: z
      .object({
        key: z
          .string()
          .describe("Hash of the program's lockfile (and Node major): the dependency cache key."),
        installed: z
          .boolean()
          .describe("Whether this run had to install them (false: the cache was current)."),
      })
      .optional()
      .describe("The Pulumi program's npm dependencies."),
    stacks: z
      .array(StackReportSchema)
      .optional()
      .describe(
        "An environment of several stacks: each stack in dependency order, with its status and what the run did to it. Its resources are in pending and drift (their URNs name the stack).",
      ),
    startedAt: timestamp("When the run started, ISO 8601."),
    endedAt: timestamp("When the run ended, ISO 8601."),
    timings: z
      .record(z.string(), z.number().nonnegative())
      .describe("Milliseconds per stage, e.g. { poll: 12, preview: 9000 }."),
    versions: z
      .object({
        tidegate: z.string(),
        pulumi: z.string(),
        node: z.string(),
      })
      .describe("Tool versions the run used."),
  })
  .meta({
    title: "tidegate check report",
    description:
      "Everything one check learned about an environment: pending changes (Git vs deployed) and drift (live vs deployed), kept apart.",
  });

// Compile-time proof that the schema and the model describe the same document.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameShape: Same<z.infer<typeof RunReportSchema>, RunReport> = true;
void sameShape;

/** A report that does not match the schema; `issues` name each bad path. */
export class InvalidReportError extends Error {
  constructor(
    message: string,
    readonly issues: Array<{ path: string; message: string }>,
  ) {
    super(message);
    this.name = "InvalidReportError";
  }
}

/** Validates a report read from outside (store, file); `source` names it in the error. */
export function parseRunReport(value: unknown, source = "report"): RunReport {
  const result = RunReportSchema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: issue.path.length === 0 ? "(root)" : formatPath(issue.path.map(segment)),
    message: issue.message,
  }));
  const detail = issues.map((i) => `${i.path}: ${i.message}`).join("; ");
  throw new InvalidReportError(`${source} is not a valid check report: ${detail}`, issues);
}

function segment(key: PropertyKey): string | number {
  return typeof key === "number" ? key : String(key);
}

/** The JSON Schema of the report document, as published in schema/report.schema.json. */
export function reportJsonSchema(): Record<string, unknown> {
  // "input" leaves additionalProperties open: fields may be added within a schema version.
  return z.toJSONSchema(RunReportSchema, { io: "input" }) as Record<string, unknown>;
}
