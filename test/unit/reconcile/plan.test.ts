import { describe, expect, it } from "vitest";
import type { ChangeSet, ResourceChange } from "../../../src/domain/changes";
import { planDigest, shortDigest, type PlanContent } from "../../../src/domain/plan";

const queue: ResourceChange = {
  urn: "urn:pulumi:prod::platform::aws-sdk:Queue::events",
  type: "aws-sdk:Queue",
  name: "events",
  action: "update",
  properties: [
    { path: "visibilityTimeoutSeconds", kind: "update", old: 30, new: 45, replaces: false },
    { path: "tags.team", kind: "update", old: "a", new: "b", replaces: false },
  ],
};
const bucket: ResourceChange = {
  urn: "urn:pulumi:prod::platform::aws-sdk:Bucket::artifacts",
  type: "aws-sdk:Bucket",
  name: "artifacts",
  action: "drifted",
  properties: [{ path: "tags.team", kind: "update", old: "platform", new: "intruders", replaces: false }],
};
const set = (kind: ChangeSet["kind"], resources: ResourceChange[]): ChangeSet => ({ kind, resources });
const plan = (overrides: Partial<PlanContent> = {}): PlanContent => ({
  environment: "prod",
  stack: "prod",
  commit: "a".repeat(40),
  pending: set("pending", [queue]),
  drift: set("drift", []),
  remediate: false,
  ...overrides,
});

describe("planDigest", () => {
  it("is a sha256 that does not depend on the order resources and properties were reported in", () => {
    const digest = planDigest(plan({ pending: set("pending", [queue, bucket]) }));
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const reordered = { ...queue, properties: [...queue.properties].reverse() };
    expect(planDigest(plan({ pending: set("pending", [bucket, reordered]) }))).toBe(digest);
  });

  it("changes with the commit, the drift, a property value and whether drift is restored", () => {
    const base = planDigest(plan());
    expect(planDigest(plan({ commit: "b".repeat(40) }))).not.toBe(base);
    expect(planDigest(plan({ drift: set("drift", [bucket]) }))).not.toBe(base);
    expect(planDigest(plan({ remediate: true }))).not.toBe(base);
    const other = { ...queue, properties: [{ ...queue.properties[0]!, new: 46 }, queue.properties[1]!] };
    expect(planDigest(plan({ pending: set("pending", [other]) }))).not.toBe(base);
    expect(planDigest(plan({ environment: "stage" }))).not.toBe(base);
  });

  it("is shown as 12 hex digits", () => {
    expect(shortDigest(`sha256:${"0123456789ab".repeat(5)}abcd`)).toBe("0123456789ab");
  });
});
