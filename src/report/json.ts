import { z } from "zod";
import type { CheckReport } from "../model";
import { formatPath } from "../pulumi/property-path";

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
  })
  .meta({ id: "PropertyChange", description: "One leaf property that differs." });

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

export const CheckReportSchema = z
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
    sync: z
      .object({
        applied: z.boolean().describe("Whether an update ran."),
        summary: z
          .record(z.string(), z.number())
          .optional()
          .describe("Resources per operation, as Pulumi counts them, e.g. { update: 1, same: 4 }."),
      })
      .optional()
      .describe("The sync this run performed, if any."),
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
const sameShape: Same<z.infer<typeof CheckReportSchema>, CheckReport> = true;
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
export function parseCheckReport(value: unknown, source = "report"): CheckReport {
  const result = CheckReportSchema.safeParse(value);
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
  return z.toJSONSchema(CheckReportSchema, { io: "input" }) as Record<string, unknown>;
}
