import { describe, expect, it } from "vitest";

import { evaluateApproval } from "../../../src/gates/approval";
import type { ApprovalGate } from "../../../src/domain/gates";
import { approval, COMMIT, plan } from "./fixtures";

const ANYONE: ApprovalGate = { required: 1, approvers: [], allowSelfApproval: false };
const LISTED: ApprovalGate = {
  required: 2,
  approvers: ["alice@example.com", "bob@example.com", "carol@example.com"],
  allowSelfApproval: false,
};
const AUTHORS = ["Dave Author", "dave@example.com"];

describe("evaluateApproval", () => {
  it("waits for an approval from anyone but the authors", () => {
    const result = evaluateApproval(ANYONE, { plan: plan(), approvals: [], authors: AUTHORS });
    expect(result).toEqual({
      verdict: {
        gate: "approval",
        verdict: "wait",
        reason: "needs 1 more approval from anyone but the authors of the change",
      },
      counted: [],
    });
  });

  it("passes with enough distinct approvers of this plan, counting each person once", () => {
    const first = approval("alice@example.com", { at: "2025-06-02T10:00:00.000Z" });
    const again = approval("ALICE@example.com", { at: "2025-06-02T10:05:00.000Z" });
    const bob = approval("bob@example.com", { at: "2025-06-02T10:10:00.000Z" });
    const result = evaluateApproval(LISTED, {
      plan: plan(),
      approvals: [bob, again, first],
      authors: AUTHORS,
    });
    expect(result.verdict).toEqual({
      gate: "approval",
      verdict: "pass",
      reason: "approved by alice@example.com and bob@example.com (2 of 2 needed)",
    });
    expect(result.counted).toEqual([first, bob]);
  });

  it("names who may still approve when approvals are missing", () => {
    const result = evaluateApproval(LISTED, {
      plan: plan(),
      approvals: [approval("alice@example.com")],
      authors: AUTHORS,
    });
    expect(result.verdict.verdict).toBe("wait");
    expect(result.verdict.reason).toBe(
      "needs 1 more approval from bob@example.com or carol@example.com (approved so far by alice@example.com)",
    );
  });

  it("does not count an approver who is not on the list, and says so", () => {
    const result = evaluateApproval(LISTED, {
      plan: plan(),
      approvals: [approval("alice@example.com"), approval("mallory@example.com")],
      authors: AUTHORS,
    });
    expect(result.counted.map((a) => a.approver)).toEqual(["alice@example.com"]);
    expect(result.verdict.reason).toContain("mallory@example.com is not an allowed approver");
  });

  it("judges an approval through a token as its owner's: no self-approval, no second person", () => {
    const bot = approval("ci-bot", { owner: "dave@example.com" });
    const refused = evaluateApproval(ANYONE, { plan: plan(), approvals: [bot], authors: AUTHORS });
    expect(refused.counted).toEqual([]);
    expect(refused.verdict.reason).toContain(
      "self-approval by ci-bot (token of dave@example.com) does not count (an author of the change)",
    );

    // Alice and her token are one person: two approvals needed, one given.
    const twice = evaluateApproval(LISTED, {
      plan: plan(),
      approvals: [approval("alice@example.com"), approval("release-bot", { owner: "alice@example.com" })],
      authors: AUTHORS,
    });
    expect(twice.counted.map((a) => a.approver)).toEqual(["alice@example.com"]);
    expect(twice.verdict.verdict).toBe("wait");
    expect(twice.verdict.reason).toContain("needs 1 more approval from bob@example.com or carol@example.com");

    // A listed person's token counts for them.
    const bobs = evaluateApproval(LISTED, {
      plan: plan(),
      approvals: [approval("alice@example.com"), approval("release-bot", { owner: "bob@example.com" })],
      authors: AUTHORS,
    });
    expect(bobs.verdict).toMatchObject({
      verdict: "pass",
      reason: "approved by alice@example.com and release-bot (token of bob@example.com) (2 of 2 needed)",
    });
  });

  it("does not count self-approval, unless allowed", () => {
    const self = approval("Dave@Example.com");
    const refused = evaluateApproval(ANYONE, { plan: plan(), approvals: [self], authors: AUTHORS });
    expect(refused.verdict.verdict).toBe("wait");
    expect(refused.verdict.reason).toContain("self-approval by Dave@Example.com does not count");
    expect(refused.counted).toEqual([]);

    const allowed = evaluateApproval(
      { ...ANYONE, allowSelfApproval: true },
      { plan: plan(), approvals: [self], authors: AUTHORS },
    );
    expect(allowed.verdict.verdict).toBe("pass");
    expect(allowed.counted).toEqual([self]);
  });

  it("names an approval of another plan or commit as stale", () => {
    const oldPlan = approval("alice@example.com", {
      planDigest: "sha256:bbbbbbbbbbbb1111",
      commit: "abcdef0123456789",
    });
    const sameCommitOldPreview = approval("bob@example.com", { planDigest: "sha256:cccccccccccc2222" });
    const result = evaluateApproval(LISTED, {
      plan: plan(),
      approvals: [oldPlan, sameCommitOldPreview],
      authors: AUTHORS,
    });
    expect(result.verdict.verdict).toBe("wait");
    expect(result.counted).toEqual([]);
    expect(result.verdict.reason).toContain(
      "approval by alice@example.com is for plan bbbbbbbbbbbb (commit abcdef012345), not the current plan",
    );
    expect(result.verdict.reason).toContain(
      `approval by bob@example.com is for plan cccccccccccc (commit ${COMMIT.slice(0, 12)}), not the current plan`,
    );
  });

  it("ignores a revoked approval and says who revoked it", () => {
    const revoked = approval("alice@example.com", {
      revokedAt: "2025-06-02T11:00:00.000Z",
      revokedBy: "alice@example.com",
    });
    const result = evaluateApproval(ANYONE, { plan: plan(), approvals: [revoked], authors: AUTHORS });
    expect(result.verdict.verdict).toBe("wait");
    expect(result.verdict.reason).toContain("approval by alice@example.com was revoked by alice@example.com");
  });

  it("counts a fresh approval after a revoked one, without mentioning the old one", () => {
    const revoked = approval("alice@example.com", { revokedAt: "2025-06-02T11:00:00.000Z" });
    const fresh = approval("alice@example.com", { at: "2025-06-02T12:00:00.000Z" });
    const result = evaluateApproval(ANYONE, { plan: plan(), approvals: [revoked, fresh], authors: AUTHORS });
    expect(result.verdict).toMatchObject({
      verdict: "pass",
      reason: "approved by alice@example.com (1 of 1 needed)",
    });
  });

  it("ignores approvals of other environments", () => {
    const elsewhere = approval("alice@example.com", { environment: "stage" });
    const result = evaluateApproval(ANYONE, { plan: plan(), approvals: [elsewhere], authors: AUTHORS });
    expect(result.verdict.reason).toBe("needs 1 more approval from anyone but the authors of the change");
  });

  it("counts a protected approval as an approval of the plan", () => {
    const protectedToo = approval("alice@example.com", { scope: "protected" });
    const result = evaluateApproval(ANYONE, { plan: plan(), approvals: [protectedToo], authors: AUTHORS });
    expect(result.verdict.verdict).toBe("pass");
  });

  it("blocks when nobody left on the list may approve", () => {
    const gate: ApprovalGate = { required: 1, approvers: ["dave@example.com"], allowSelfApproval: false };
    const result = evaluateApproval(gate, { plan: plan(), approvals: [], authors: AUTHORS });
    expect(result.verdict).toEqual({
      gate: "approval",
      verdict: "block",
      reason:
        "needs 1 more approval, but no allowed approver is left: dave@example.com authored the change and may not approve it",
    });
  });
});
