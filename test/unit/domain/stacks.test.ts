import { describe, expect, it } from "vitest";

import type { ChangeSet } from "../../../src/domain/changes";
import { makePlan } from "../../../src/domain/plan";
import { environmentProgram, programSelection, stacksProgramSelection } from "../../../src/domain/program";
import {
  combinePlans,
  environmentPlanDigest,
  findStackCycle,
  rollUpStatus,
  stackDependencies,
  stackDependents,
  stackLayers,
  type StackNode,
} from "../../../src/domain/stacks";

const node = (name: string, ...dependsOn: string[]): StackNode => ({ name, dependsOn });

// cloud → cluster → app, and a dns stack beside them that app also needs.
const STACKS = [node("app", "cluster", "dns"), node("cloud"), node("cluster", "cloud"), node("dns")];

describe("stackLayers", () => {
  it("puts each stack after what it depends on, independent ones side by side in written order", () => {
    expect(stackLayers(STACKS).map((layer) => layer.map((stack) => stack.name))).toEqual([
      ["cloud", "dns"],
      ["cluster"],
      ["app"],
    ]);
  });

  it("gives one layer of one stack for the one-stack form", () => {
    expect(stackLayers([node("test")])).toEqual([[node("test")]]);
  });

  it("throws on a cycle, naming it, and on an unknown dependency", () => {
    expect(() => stackLayers([node("a", "b"), node("b", "a"), node("c")])).toThrow(
      "the stacks depend on each other in a cycle: a → b → a",
    );
    expect(() => stackLayers([node("a", "nope")])).toThrow("stack a depends on unknown stack nope");
  });
});

describe("findStackCycle", () => {
  it("finds none in a tree of dependencies, nor for a shared dependency", () => {
    expect(findStackCycle(STACKS)).toBeUndefined();
    expect(findStackCycle([node("a", "c"), node("b", "c"), node("c")])).toBeUndefined();
  });

  it("names the stacks along a cycle, a stack depending on itself included", () => {
    expect(findStackCycle([node("x"), node("a", "b"), node("b", "c"), node("c", "a")])).toEqual([
      "a",
      "b",
      "c",
      "a",
    ]);
    expect(findStackCycle([node("a", "a")])).toEqual(["a", "a"]);
  });

  it("leaves unknown names to other checks", () => {
    expect(findStackCycle([node("a", "missing")])).toBeUndefined();
  });
});

describe("stackDependents", () => {
  it("stops every stack depending on the failed one, directly or through others, and no other", () => {
    expect(stackDependents(STACKS, "cloud")).toEqual(["app", "cluster"]);
    expect(stackDependents(STACKS, "cluster")).toEqual(["app"]);
    expect(stackDependents(STACKS, "dns")).toEqual(["app"]);
    expect(stackDependents(STACKS, "app")).toEqual([]);
  });
});

describe("stackDependencies", () => {
  it("lists what a stack depends on, directly or through others, in written order, and nothing else", () => {
    expect(stackDependencies(STACKS, "app")).toEqual(["cloud", "cluster", "dns"]);
    expect(stackDependencies(STACKS, "cluster")).toEqual(["cloud"]);
    expect(stackDependencies(STACKS, "cloud")).toEqual([]);
    expect(stackDependencies(STACKS, "unknown")).toEqual([]);
  });
});

const bucket: ChangeSet = {
  kind: "pending",
  resources: [
    {
      urn: "urn:pulumi:test::app::aws:s3/bucket:Bucket::site",
      type: "aws:s3/bucket:Bucket",
      name: "site",
      action: "update",
      properties: [{ path: "tags.team", kind: "update", old: "a", new: "b", replaces: false }],
    },
  ],
};

function stackPlan(name: string, pending?: ChangeSet, commit = "c0ffee") {
  return {
    name,
    plan: makePlan({
      environment: "test",
      stack: "test",
      commit,
      remediate: false,
      ...(pending ? { pending } : {}),
    }),
  };
}

describe("environmentPlanDigest", () => {
  it("is the stack's own plan digest with one stack, byte for byte as before several stacks", () => {
    const only = stackPlan("test", bucket);
    expect(environmentPlanDigest([only])).toBe(only.plan.digest);
    // Pinned: the digest of this plan before environments had several stacks. Approvals bind to it.
    expect(only.plan.digest).toBe(PINNED_ONE_STACK_DIGEST);
  });

  it("covers every stack: a change in any one, or a stack more, gives another digest", () => {
    const both = [stackPlan("cloud"), stackPlan("app")];
    const digest = environmentPlanDigest(both);
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(environmentPlanDigest([...both].reverse())).toBe(digest);
    expect(environmentPlanDigest([stackPlan("cloud"), stackPlan("app", bucket)])).not.toBe(digest);
    expect(environmentPlanDigest([...both, stackPlan("dns")])).not.toBe(digest);
    // The same changes under another stack's name are another plan.
    expect(environmentPlanDigest([stackPlan("cloud", bucket), stackPlan("app")])).not.toBe(
      environmentPlanDigest([stackPlan("cloud"), stackPlan("app", bucket)]),
    );
  });

  it("refuses stacks of different commits, and no stacks at all", () => {
    expect(() => environmentPlanDigest([stackPlan("cloud"), stackPlan("app", undefined, "beef")])).toThrow(
      "one environment at one commit",
    );
    expect(() => environmentPlanDigest([])).toThrow("at least one stack");
  });
});

describe("combinePlans", () => {
  const drifted: ChangeSet = {
    kind: "drift",
    resources: [
      {
        urn: "urn:pulumi:test::cloud::aws:s3/bucket:Bucket::logs",
        type: "aws:s3/bucket:Bucket",
        name: "logs",
        action: "drifted",
        properties: [],
      },
    ],
  };

  it("is the one stack's plan itself with one stack", () => {
    const only = stackPlan("test", bucket);
    expect(combinePlans([only])).toBe(only.plan);
  });

  it("joins every stack's changes and drift under the environment's digest, keeping each plan", () => {
    const cloud = {
      name: "cloud",
      plan: makePlan({
        environment: "test",
        stack: "test",
        commit: "c0ffee",
        drift: drifted,
        remediate: true,
      }),
    };
    const app = stackPlan("app", bucket);
    const plan = combinePlans([cloud, app]);
    expect(plan).toEqual({
      environment: "test",
      stack: "cloud, app",
      commit: "c0ffee",
      digest: environmentPlanDigest([cloud, app]),
      pending: { kind: "pending", resources: bucket.resources },
      drift: { kind: "drift", resources: drifted.resources },
      remediate: true,
      stacks: [cloud, app],
    });
  });

  it("refuses stacks resolved in different ways", () => {
    const restore = {
      name: "cloud",
      plan: makePlan({
        environment: "test",
        stack: "test",
        commit: "c0ffee",
        remediate: true,
        resolve: "restore-drift",
      }),
    };
    expect(() => combinePlans([restore, stackPlan("app")])).toThrow("resolved the same way");
  });
});

describe("rollUpStatus", () => {
  it("is the stack's own status and reason with one stack", () => {
    expect(rollUpStatus([{ name: "test", status: "Blocked", reason: "outside the sync window" }])).toEqual({
      status: "Blocked",
      reason: "outside the sync window",
    });
  });

  it("takes the worst status and names its stack and reason", () => {
    expect(
      rollUpStatus([
        { name: "cloud", status: "Synced" },
        { name: "cluster", status: "Failed", reason: "update failed: quota" },
        { name: "app", status: "OutOfSync" },
      ]),
    ).toEqual({ status: "Failed", reason: "stack cluster: update failed: quota" });
    expect(
      rollUpStatus([
        { name: "cloud", status: "AwaitingApproval", reason: "needs 1 approval" },
        { name: "app", status: "AwaitingApproval", reason: "needs 1 approval" },
        { name: "dns", status: "Unknown" },
      ]),
    ).toEqual({ status: "AwaitingApproval", reason: "stack cloud (and 1 other stack): needs 1 approval" });
  });

  it("makes pending changes in one stack and drift in another OutOfSync+Drifted", () => {
    expect(
      rollUpStatus([
        { name: "cloud", status: "Drifted" },
        { name: "app", status: "OutOfSync" },
        { name: "dns", status: "Synced" },
      ]),
    ).toEqual({ status: "OutOfSync+Drifted", reason: "pending changes in app; drift in cloud" });
  });

  it("is Synced without a reason when every stack is, and Unknown above Synced", () => {
    expect(
      rollUpStatus([
        { name: "a", status: "Synced" },
        { name: "b", status: "Synced" },
      ]),
    ).toEqual({
      status: "Synced",
    });
    expect(
      rollUpStatus([
        { name: "a", status: "Synced" },
        { name: "b", status: "Unknown" },
      ]).status,
    ).toBe("Unknown");
  });
});

const PINNED_ONE_STACK_DIGEST = "sha256:e3737bcacf070e3b28e19476a898d8b3539f2b3975ae2f50bcc9d2aaa6d1f9a1";

describe("stacksProgramSelection", () => {
  it("is the one project's selection with one stack, so recorded trees still match", () => {
    expect(stacksProgramSelection(["stacks/aws"], ["policy/pack"])).toEqual(
      programSelection("stacks/aws", ["policy/pack"]),
    );
    expect(stacksProgramSelection(["."])).toEqual(programSelection("."));
  });

  it("covers every stack's folder and the packs, without any stack's config files", () => {
    expect(
      stacksProgramSelection(["stacks/k8s", "stacks/aws", "stacks/aws"], ["policy/pack", "stacks/aws"]),
    ).toEqual({
      include: ["stacks/aws", "stacks/k8s", "policy/pack"],
      exclude: ["stacks/aws/Pulumi.*.yaml", "stacks/k8s/Pulumi.*.yaml"],
    });
  });

  it("takes the whole repository when a stack's project is its root", () => {
    expect(stacksProgramSelection([".", "stacks/app"])).toEqual({
      exclude: ["Pulumi.*.yaml", "stacks/app/Pulumi.*.yaml"],
    });
  });
});

describe("environmentProgram", () => {
  it("is the project's selection for the one-stack form, every stack's with several", () => {
    expect(environmentProgram({ project: "stacks/aws", programPolicyPacks: ["policy"] })).toEqual(
      programSelection("stacks/aws", ["policy"]),
    );
    expect(
      environmentProgram({
        project: "stacks/aws",
        stacks: [{ project: "stacks/aws" }, { project: "stacks/app" }],
      }),
    ).toEqual(stacksProgramSelection(["stacks/aws", "stacks/app"]));
  });
});
