import { describe, expect, it } from "vitest";

import { evaluateGates, type GateFacts } from "../../../src/gates";
import type { Gates } from "../../../src/domain/gates";
import { approval, change, COMMIT, pending, plan } from "./fixtures";

const NONE: Gates = { windows: [], checks: [], policyPacks: [] };
const TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

function facts(overrides: Partial<GateFacts> = {}): GateFacts {
  return {
    plan: plan(),
    approvals: [],
    authors: ["dave@example.com"],
    programTree: TREE,
    now: new Date("2025-06-02T10:00:00Z"),
    checks: [],
    policy: [],
    ...overrides,
  };
}

describe("evaluateGates", () => {
  it("passes with no gates, and no verdicts", () => {
    expect(evaluateGates(NONE, facts())).toEqual({
      verdicts: [],
      outcome: "pass",
      reason: "no gates",
      approvals: [],
    });
  });

  it("lets only configured gates speak, in order, and passes when all pass", () => {
    const gates: Gates = {
      ...NONE,
      promotion: { from: "stage", soakMs: 0 },
      checks: [{ name: "unit", run: "npm test", timeoutMs: 600_000 }],
      approval: { required: 1, approvers: [], allowSelfApproval: false },
    };
    const given = approval("alice@example.com");
    const result = evaluateGates(
      gates,
      facts({
        approvals: [given],
        success: { environment: "stage", commit: COMMIT, programTree: TREE, firstAt: "2025-06-01T00:00:00Z" },
        checks: [
          {
            name: "unit",
            command: "npm test",
            commit: COMMIT,
            exitCode: 0,
            timedOut: false,
            durationMs: 1,
            output: "",
            at: "2025-06-02T09:00:00Z",
          },
        ],
      }),
    );
    expect(result.verdicts.map((v) => [v.gate, v.verdict])).toEqual([
      ["promotion", "pass"],
      ["checks", "pass"],
      ["approval", "pass"],
    ]);
    expect(result).toMatchObject({ outcome: "pass", reason: "every gate passes", approvals: [given] });
  });

  it("waits when a gate waits and none blocks, joining the reasons", () => {
    const gates: Gates = { ...NONE, approval: { required: 1, approvers: [], allowSelfApproval: false } };
    expect(evaluateGates(gates, facts())).toMatchObject({
      outcome: "wait",
      reason: "approval: needs 1 more approval from anyone but the authors of the change",
    });
  });

  it("blocks when any gate blocks, even if others wait", () => {
    const gates: Gates = {
      ...NONE,
      approval: { required: 1, approvers: [], allowSelfApproval: false },
      windows: [{ kind: "deny", schedule: "0 0 * * *", durationMs: 86_400_000, timezone: "UTC" }],
      policyPacks: ["policies/baseline"],
    };
    const result = evaluateGates(
      gates,
      facts({ policy: [{ pack: "baseline", policy: "tags", level: "mandatory", message: "no tags" }] }),
    );
    expect(result.outcome).toBe("block");
    expect(result.verdicts.map((v) => [v.gate, v.verdict])).toEqual([
      ["window", "block"],
      ["policy", "block"],
      ["approval", "wait"],
    ]);
    expect(result.reason).toMatch(
      /^window: deny window .*; policy: 1 mandatory policy violation: .*; approval: needs 1/,
    );
  });

  it("blocks a promotion gate when the program tree is unknown", () => {
    const gates: Gates = { ...NONE, promotion: { from: "stage", soakMs: 0 } };
    const result = evaluateGates(gates, facts({ programTree: undefined }));
    expect(result.verdicts).toEqual([
      { gate: "promotion", verdict: "block", reason: "the program tree at commit 1234567890ab is unknown" },
    ]);
  });

  it("judges protected approvals by the approval gate's rules and reports them as counted", () => {
    const gates: Gates = {
      ...NONE,
      approval: {
        required: 1,
        approvers: ["alice@example.com", "dave@example.com"],
        allowSelfApproval: false,
      },
      protect: { operations: ["delete"], resources: [], action: "approve" },
    };
    const withDelete = plan({ pending: pending(change("logs", "aws:s3/bucket:Bucket", "delete")) });
    const self = approval("dave@example.com", { scope: "protected" });
    const waiting = evaluateGates(gates, facts({ plan: withDelete, approvals: [self] }));
    expect(waiting.outcome).toBe("wait");
    expect(waiting.reason).toContain("protected: delete of logs");
    expect(waiting.reason).toContain("self-approval by dave@example.com does not count");

    const alice = approval("alice@example.com", { scope: "protected" });
    const passing = evaluateGates(gates, facts({ plan: withDelete, approvals: [alice] }));
    expect(passing.outcome).toBe("pass");
    expect(passing.approvals).toEqual([alice]);
  });
});
