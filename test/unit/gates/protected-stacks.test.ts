import { describe, expect, it } from "vitest";

import { describeGatesChange } from "../../../src/gates/change";
import { evaluateProtected, protectedChanges } from "../../../src/gates/protected";
import type { ProtectedOperations } from "../../../src/domain/gates";
import { makePlan } from "../../../src/domain/plan";
import { combinePlans } from "../../../src/domain/stacks";
import { change, pending } from "./fixtures";

// protect rules that name stacks of an environment of several: only those stacks' resources count.

const BUCKET = "aws:s3/bucket:Bucket";
const stackPlan = (name: string, ...resources: ReturnType<typeof change>[]) => ({
  name,
  plan: makePlan({
    environment: "prod",
    stack: "prod",
    commit: "c0ffee",
    remediate: false,
    pending: pending(...resources),
  }),
});
const PLAN = combinePlans([
  stackPlan("cloud", change("logs", BUCKET, "delete")),
  stackPlan("app", change("assets", BUCKET, "delete"), change("web", "aws:ec2/instance:Instance", "replace")),
]);
const REFUSE: ProtectedOperations = { operations: ["delete", "replace"], resources: [], action: "refuse" };

describe("protect rules naming stacks", () => {
  it("take only the named stacks' protected operations; without stacks, every stack's", () => {
    const names = (rule: ProtectedOperations) =>
      protectedChanges(rule, PLAN.pending, PLAN.stacks).map((c) => c.name);
    expect(names({ ...REFUSE, stacks: ["cloud"] })).toEqual(["logs"]);
    expect(names({ ...REFUSE, stacks: ["app"], resources: [BUCKET] })).toEqual(["assets"]);
    expect(names(REFUSE)).toEqual(["logs", "assets", "web"]);
  });

  it("refuse a plan only for what the named stack would do", () => {
    const facts = { plan: PLAN, approvals: [] };
    expect(evaluateProtected({ ...REFUSE, stacks: ["cloud"] }, facts).verdict).toMatchObject({
      verdict: "block",
      reason: expect.stringContaining("logs"),
    });
    const safe = combinePlans([stackPlan("cloud"), stackPlan("app", change("assets", BUCKET, "delete"))]);
    expect(
      evaluateProtected({ ...REFUSE, stacks: ["cloud"] }, { plan: safe, approvals: [] }).verdict.verdict,
    ).toBe("pass");
  });

  it("say when a commit changes the stacks a rule covers", () => {
    const gates = { windows: [], checks: [], policyPacks: [] };
    expect(
      describeGatesChange(
        { ...gates, protect: REFUSE },
        { ...gates, protect: { ...REFUSE, stacks: ["app"] } },
      ),
    ).toEqual(["protect: stacks all → app"]);
  });
});
