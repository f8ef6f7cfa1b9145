import type { CheckReport } from "../../../src/model";

const urn = (type: string, name: string) => `urn:pulumi:test::platform::${type}::${name}`;

/** A report with both pending changes and drift, as a check of the test environment produces it. */
export function sampleReport(overrides: Partial<CheckReport> = {}): CheckReport {
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
