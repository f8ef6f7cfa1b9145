import { describe, expect, it } from "vitest";

import { evaluateProtected, matchesGlob, protectedChanges } from "../../../src/gates/protected";
import type { ProtectedOperations } from "../../../src/domain/gates";
import { approval, change, pending, plan } from "./fixtures";

const BUCKET = "aws:s3/bucket:Bucket";
const changes = pending(
  change("logs", BUCKET, "delete"),
  change("web", "aws:ec2/instance:Instance", "replace"),
  change("prod-queue", "aws:sqs/queue:Queue", "delete"),
  change("site", BUCKET, "update"),
  change("new", BUCKET, "create"),
);

const REFUSE: ProtectedOperations = { operations: ["delete", "replace"], resources: [], action: "refuse" };
const APPROVE: ProtectedOperations = { operations: ["delete"], resources: [BUCKET], action: "approve" };

describe("protectedChanges", () => {
  it("takes the protected operations on every resource when no pattern is given", () => {
    expect(protectedChanges(REFUSE, changes).map((c) => c.name)).toEqual(["logs", "web", "prod-queue"]);
  });

  it("matches patterns against the type or the name", () => {
    const rule = { ...REFUSE, resources: ["aws:s3/*", "prod-*"] };
    expect(protectedChanges(rule, changes).map((c) => c.name)).toEqual(["logs", "prod-queue"]);
    expect(protectedChanges({ ...REFUSE, operations: ["replace"] }, changes).map((c) => c.name)).toEqual([
      "web",
    ]);
    expect(protectedChanges(REFUSE, undefined)).toEqual([]);
  });

  it("reads * as any text and everything else literally", () => {
    expect(matchesGlob("aws:s3/*", BUCKET)).toBe(true);
    expect(matchesGlob("*:Bucket", BUCKET)).toBe(true);
    expect(matchesGlob("aws:s3", BUCKET)).toBe(false);
    expect(matchesGlob("prod-?", "prod-a")).toBe(true);
    expect(matchesGlob("a.b", "axb")).toBe(false);
  });
});

describe("evaluateProtected", () => {
  it("passes when nothing protected is in the plan", () => {
    expect(evaluateProtected(REFUSE, { plan: plan({ pending: pending() }), approvals: [] }).verdict).toEqual({
      gate: "protected",
      verdict: "pass",
      reason: "no protected operations",
    });
  });

  it("refuses protected operations, listing them", () => {
    const result = evaluateProtected(
      { ...REFUSE, resources: [BUCKET] },
      { plan: plan({ pending: changes }), approvals: [] },
    );
    expect(result.verdict).toEqual({
      gate: "protected",
      verdict: "block",
      reason:
        "refused: delete of logs (aws:s3/bucket:Bucket) (protected operations are never applied here; change the program so it keeps them)",
    });
  });

  it("waits for a protected approval of this exact plan, then passes", () => {
    const withChanges = plan({ pending: changes });
    const waiting = evaluateProtected(APPROVE, {
      plan: withChanges,
      approvals: [approval("alice@example.com")],
    });
    expect(waiting.verdict).toEqual({
      gate: "protected",
      verdict: "wait",
      reason:
        "delete of logs (aws:s3/bucket:Bucket) needs its own approval (tidegate approve prod --protected)",
    });

    const given = approval("alice@example.com", { scope: "protected" });
    const passing = evaluateProtected(APPROVE, { plan: withChanges, approvals: [given] });
    expect(passing.verdict).toMatchObject({
      verdict: "pass",
      reason: expect.stringContaining("approved by alice@example.com"),
    });
    expect(passing.counted).toEqual([given]);
  });

  it("does not take a revoked, stale, self or disallowed protected approval", () => {
    const withChanges = plan({ pending: changes });
    const approvals = [
      approval("alice@example.com", { scope: "protected", revokedAt: "2025-06-02T11:00:00.000Z" }),
      approval("bob@example.com", { scope: "protected", planDigest: "sha256:0ld" }),
      approval("dave@example.com", { scope: "protected" }),
      approval("mallory@example.com", { scope: "protected" }),
    ];
    const result = evaluateProtected(APPROVE, {
      plan: withChanges,
      approvals,
      authors: ["dave@example.com"],
      approvers: ["alice@example.com", "bob@example.com", "dave@example.com"],
    });
    expect(result.verdict.verdict).toBe("wait");
    expect(result.counted).toEqual([]);
    for (const part of [
      "approval by alice@example.com was revoked",
      "approval by bob@example.com is for plan 0ld",
      "self-approval by dave@example.com does not count",
      "mallory@example.com is not an allowed approver",
    ]) {
      expect(result.verdict.reason).toContain(part);
    }
  });
});
