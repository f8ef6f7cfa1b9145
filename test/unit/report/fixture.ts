import type { RunReport } from "../../../src/domain/model";

const urn = (type: string, name: string) => `urn:pulumi:test::platform::${type}::${name}`;

/** A report with both pending changes and drift, as a check of the test environment produces it. */
export function sampleReport(overrides: Partial<RunReport> = {}): RunReport {
  return {
    schemaVersion: 1,
    runId: "run-0001",
    environment: "test",
    stack: "test",
    branch: "test",
    status: "OutOfSync+Drifted",
    reason: "1 resource to update, 1 drifted outside Git",
    desired: {
      sha: "4f1c2a9e0b7d3c5a6e8f9a0b1c2d3e4f5a6b7c8d",
      author: "Dana Ops",
      authorEmail: "dana@example.com",
      date: "2025-03-04T10:20:30+01:00",
      message: "Raise the queue's visibility timeout\n\nConsumers need longer than 30 s.",
    },
    deployed: { commit: "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b" },
    pending: {
      kind: "pending",
      resources: [
        {
          urn: urn("aws:sqs/queue:Queue", "events"),
          type: "aws:sqs/queue:Queue",
          name: "events",
          action: "update",
          properties: [
            { path: "visibilityTimeoutSeconds", kind: "update", old: 30, new: 60, replaces: false },
            { path: "tags.team", kind: "update", old: "platform", new: "queues", replaces: false },
          ],
        },
      ],
    },
    drift: {
      kind: "drift",
      resources: [
        {
          urn: urn("aws:s3/bucket:Bucket", "assets"),
          type: "aws:s3/bucket:Bucket",
          name: "assets",
          action: "drifted",
          properties: [
            { path: "tags.team", kind: "update", old: "platform", new: "intruders", replaces: false },
            { path: "tags.note", kind: "add", new: "added by hand", replaces: false },
            { path: "policy", kind: "update", old: "[secret]", new: "[secret]", replaces: false },
          ],
        },
      ],
    },
    startedAt: "2025-03-04T09:30:00.000Z",
    endedAt: "2025-03-04T09:30:12.500Z",
    timings: { poll: 12, preview: 9000, refresh: 3400 },
    versions: { tidegate: "0.1.0", pulumi: "3.274.1", node: "22.23.3" },
    ...overrides,
  };
}

export const DIGEST = "sha256:3f9a0c1d2e4b5a6978685746352413029f8e7d6c5b4a39281706f5e4d3c2b1a0";

/** A prod report held by its gates: a plan, every kind of verdict, an approval, checks and policy findings. */
export function gatedReport(overrides: Partial<RunReport> = {}): RunReport {
  const base = sampleReport({ environment: "prod", stack: "prod", branch: "prod" });
  return {
    ...base,
    status: "Blocked",
    reason: "window: closed until Mon 09:00 Europe/Berlin; checks: functional failed (exit 1)",
    plan: { commit: base.desired?.sha ?? "", digest: DIGEST, remediate: false },
    gates: [
      { gate: "promotion", verdict: "pass", reason: "succeeded in stage 3h ago" },
      { gate: "approval", verdict: "wait", reason: "1 of 2 approvals (needs one more of ops@example.com)" },
      { gate: "window", verdict: "block", reason: "closed until Mon 09:00 Europe/Berlin" },
      { gate: "checks", verdict: "block", reason: "functional failed (exit 1)" },
    ],
    approvals: [{ approver: "alice@example.com", scope: "sync", at: "2025-03-04T09:10:00Z" }],
    checks: [
      {
        name: "unit",
        command: "npm test",
        commit: base.desired?.sha ?? "",
        exitCode: 0,
        timedOut: false,
        durationMs: 1200,
        output: "ok 12 tests\n",
        at: "2025-03-04T09:30:01Z",
      },
      {
        name: "functional",
        command: "npm run functional",
        commit: base.desired?.sha ?? "",
        exitCode: 1,
        timedOut: false,
        durationMs: 3000,
        output: "expected `200`, got ```500```\n```\n</details>\nFAIL",
        at: "2025-03-04T09:30:03Z",
      },
    ],
    policy: [
      {
        pack: "aws-guard",
        policy: "s3-no-public-read",
        level: "mandatory",
        urn: "urn:pulumi:prod::platform::aws:s3/bucket:Bucket::assets",
        message: "Bucket assets allows public reads.",
      },
      { pack: "aws-guard", policy: "stack-tags", level: "advisory", message: "The stack has no owner tag." },
      {
        pack: "aws-guard",
        policy: "sqs-encryption",
        level: "advisory",
        urn: "urn:pulumi:prod::platform::aws:sqs/queue:Queue::events",
        message: "Queue events is not encrypted at rest.",
      },
    ],
    ...overrides,
  };
}
