import { describe, expect, it } from "vitest";
import { formatPromoteResult } from "../../../src/render/promote";
import type { PromoteResult } from "../../../src/domain/promotion";

const BASE: PromoteResult = {
  outcome: "promoted",
  reason: "fast-forwarded stage from 222222222222 to test's 111111111111",
  kind: "fast-forward",
  sha: "1".repeat(40),
  from: { environment: "test", branch: "test", head: "1".repeat(40) },
  to: { environment: "stage", branch: "stage", head: "2".repeat(40) },
  actor: "ada",
  dryRun: false,
  startedAt: "2026-01-01T00:00:00.000Z",
  endedAt: "2026-01-01T00:00:01.000Z",
};

describe("formatPromoteResult", () => {
  it("says what moved and where the target is now", () => {
    expect(formatPromoteResult(BASE)).toBe(
      [
        "promote test → stage: promoted (fast-forward)",
        "  fast-forwarded stage from 222222222222 to test's 111111111111",
        "  stage (branch stage) is now at 111111111111",
        "",
      ].join("\n"),
    );
  });

  it("lists the target's own program commits and conflicting files of a refusal, cleaned", () => {
    const text = formatPromoteResult({
      ...BASE,
      outcome: "refused",
      reason: "stage has 1 commit touching the program …",
      targetAhead: [
        {
          sha: "4".repeat(40),
          author: "Bob\u001b[31m",
          authorEmail: "bob@example.com",
          date: "2026-01-01T00:00:00.000Z",
          message: "Hotfix the queue\n\nbody",
        },
      ],
      conflicts: ["README.md"],
    });
    expect(text).toContain("promote test → stage: refused\n");
    expect(text).not.toContain("(fast-forward)");
    expect(text).toContain("  444444444444 by Bob [31m <bob@example.com>: Hotfix the queue\n");
    expect(text).toContain("Conflicting files:\n  README.md\n");
    expect(text).toMatch(/Nothing was pushed\.\n$/);
  });

  it("shows a dry run's preview of the target", () => {
    const text = formatPromoteResult({
      ...BASE,
      outcome: "dry-run",
      reason: "dry run: would fast-forward stage; nothing was pushed",
      dryRun: true,
      preview: {
        kind: "pending",
        resources: [
          {
            urn: "urn:pulumi:stage::p::aws-sdk:Bucket::artifacts",
            type: "pulumi-nodejs:dynamic/aws-sdk:Bucket",
            name: "artifacts",
            action: "create",
            properties: [],
          },
        ],
      },
    });
    expect(text).toContain("promote test → stage: dry run (fast-forward)\n");
    expect(text).toContain("  stage would be at 111111111111\n");
    expect(text).toContain(
      "Pending changes (Git → deployed): 1 resource\n  + artifacts (aws-sdk:Bucket): will be created\n",
    );
    expect(text).toMatch(/Nothing was pushed\.\n$/);
  });
});
