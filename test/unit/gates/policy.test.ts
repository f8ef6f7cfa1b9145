import { describe, expect, it } from "vitest";

import { evaluatePolicy } from "../../../src/gates/policy";
import type { PolicyViolation } from "../../../src/domain/gates";

const URN = "urn:pulumi:prod::app::aws:s3/bucket:Bucket::logs";

function violation(level: PolicyViolation["level"], policy: string, urn?: string): PolicyViolation {
  return { pack: "baseline", policy, level, message: `${policy} says no`, ...(urn ? { urn } : {}) };
}

describe("evaluatePolicy", () => {
  it("passes without violations", () => {
    expect(evaluatePolicy([])).toEqual({ gate: "policy", verdict: "pass", reason: "no policy violations" });
  });

  it("blocks on a mandatory violation, listing them per resource", () => {
    expect(
      evaluatePolicy([
        violation("mandatory", "no-public-read", URN),
        violation("mandatory", "encrypted", URN),
        violation("mandatory", "stack-tags"),
        violation("advisory", "cost"),
      ]),
    ).toEqual({
      gate: "policy",
      verdict: "block",
      reason:
        "3 mandatory policy violations: logs: baseline/no-public-read (no-public-read says no), baseline/encrypted (encrypted says no); the stack: baseline/stack-tags (stack-tags says no); also 1 advisory finding",
    });
  });

  it("passes with a note on advisory findings only", () => {
    expect(evaluatePolicy([violation("advisory", "cost", URN)])).toEqual({
      gate: "policy",
      verdict: "pass",
      reason: "1 advisory policy finding (not blocking): logs: baseline/cost (cost says no)",
    });
  });
});
