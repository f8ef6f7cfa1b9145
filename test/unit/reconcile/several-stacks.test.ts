import { describe, expect, it } from "vitest";
import { checkoutHead, observeStack, type ObservedFacts } from "../../../src/reconcile/observe";
import { stageTimer } from "../../../src/reconcile/types";
import { FakeStack, changes, resource, type StackScript } from "../../support/fake-stack";
import type { RunEnvironment } from "../../../src/reconcile/types";
import { CHECK, NO_GATES, SYNC, environment, useRunHarness } from "../../support/run-harness";

// An environment of several stacks through one run: one checkout, every stack previewed, one plan
// judged, updates in dependency order, and a failure stopping only what depends on it.

const h = useRunHarness();

const THREE: RunEnvironment["stacks"] = [
  { name: "cloud", project: "stacks/cloud", stack: "test", dependsOn: [] },
  { name: "cluster", project: "stacks/cluster", stack: "test", dependsOn: ["cloud"] },
  { name: "app", project: "stacks/app", stack: "test", dependsOn: ["cluster"] },
];

/** One scripted stack per project folder; `order` gets each project as its update starts. */
function scriptStacks(scripts: Record<string, StackScript>): { order: string[] } {
  const order: string[] = [];
  for (const [name, script] of Object.entries(scripts)) {
    const stack = new FakeStack(script);
    const up = stack.up.bind(stack);
    stack.up = (options) => {
      order.push(name);
      return up(options);
    };
    h.stacks.set(`stacks/${name}`, stack);
  }
  return { order };
}

const pending = (name: string) => ({
  pending: [changes("pending", resource(name, "create"))],
  drift: [changes("drift")],
});

describe("a run of an environment of several stacks", () => {
  it("previews every stack, then updates them in dependency order; the head is deployed", async () => {
    const head = h.git.add("head");
    h.git.branches.set("env/test", head);
    const { order } = scriptStacks({ cloud: pending("vpc"), cluster: pending("nodes"), app: pending("web") });
    const report = await h.run(environment({ stacks: THREE }), SYNC);

    expect(order).toEqual(["cloud", "cluster", "app"]);
    expect(report).toMatchObject({ status: "Synced", deployed: { commit: head }, sync: { applied: true } });
    expect(report.pending?.resources.map((r) => r.name)).toEqual(["vpc", "nodes", "web"]);
    expect(report.stacks?.map((s) => [s.name, s.outcome, s.status])).toEqual([
      ["cloud", "applied", "Synced"],
      ["cluster", "applied", "Synced"],
      ["app", "applied", "Synced"],
    ]);
    // One digest over every stack's plan.
    expect(report.plan?.digest).toMatch(/^sha256:/);
    expect(await h.store.status("test")).toMatchObject({ status: "Synced", deployedCommit: head });
    // Every stack was checked out once, at one head.
    expect(h.git.checkouts).toHaveLength(1);
  });

  it("a failing middle stack stops the one after it and leaves the first applied, each said", async () => {
    const head = h.git.add("head");
    h.git.branches.set("env/test", head);
    const { order } = scriptStacks({
      cloud: pending("vpc"),
      cluster: { ...pending("nodes"), up: new Error("nodes: quota exceeded") },
      app: pending("web"),
    });
    const report = await h.run(environment({ stacks: THREE }), SYNC);

    expect(order).toEqual(["cloud", "cluster"]);
    expect(report.status).toBe("Failed");
    expect(report.reason).toContain("stack cluster");
    expect(report.reason).toContain("quota exceeded");
    expect(report.stacks?.map((s) => [s.name, s.outcome])).toEqual([
      ["cloud", "applied"],
      ["cluster", "failed"],
      ["app", "skipped"],
    ]);
    expect(report.stacks?.[0]).toMatchObject({ status: "Synced", deployedCommit: head });
    expect(report.stacks?.[2]?.reason).toContain("depends on stack cluster");
    // Not every stack is at the head: the environment's deployed commit is not the head.
    expect(report.deployed?.commit).not.toBe(head);
    expect(h.audit.map((a) => a.action)).toContain("failure");
  });

  it("waits for one approval of the whole plan and updates nothing before it", async () => {
    const head = h.git.add("head");
    h.git.branches.set("env/test", head);
    const { order } = scriptStacks({ cloud: pending("vpc"), cluster: pending("nodes"), app: pending("web") });
    const gates = { ...NO_GATES, approval: { required: 1, approvers: [], allowSelfApproval: true } };
    const report = await h.run(environment({ stacks: THREE, gates }), SYNC);

    expect(order).toEqual([]);
    expect(report.status).toBe("AwaitingApproval");
    expect(report.stacks?.map((s) => s.outcome)).toEqual(["unchanged", "unchanged", "unchanged"]);
    const gate = h.audit.find((a) => a.action === "gate");
    expect(gate?.planDigest).toBe(report.plan?.digest);
  });

  it("applies every stack once the whole plan is approved, and nothing when one stack's plan changed", async () => {
    const head = h.git.add("head");
    h.git.branches.set("env/test", head);
    const gates = { ...NO_GATES, approval: { required: 1, approvers: [], allowSelfApproval: true } };
    const env = environment({ stacks: THREE, gates });
    // app's third preview (the re-verification under its lease) finds another change.
    const { order } = scriptStacks({
      cloud: { ...pending("vpc"), checkpoints: ["cloud-1"] },
      cluster: { ...pending("nodes"), checkpoints: ["cluster-1"] },
      app: {
        pending: [
          changes("pending", resource("web", "create")),
          changes("pending", resource("web", "create")),
          changes("pending", resource("web", "create"), resource("db", "create")),
        ],
        drift: [changes("drift")],
      },
    });
    const waiting = await h.run(env, SYNC);
    await h.approve(head, waiting.plan!.digest);
    const report = await h.run(env, SYNC);

    expect(report.plan?.digest).toBe(waiting.plan?.digest);
    expect(order).toEqual(["cloud", "cluster"]);
    expect(report.status).toBe("Blocked");
    expect(report.reason).toContain("stack app");
    expect(report.reason).toContain("the plan changed after it was approved");
    expect(report.stacks?.map((s) => s.outcome)).toEqual(["applied", "applied", "unchanged"]);
    // cloud's state is as previewed: Pulumi holds its update to the saved plan. cluster's stack
    // references read what cloud's update deployed: its plan is previewed again, not followed.
    expect(h.stacks.get("stacks/cloud")?.ups).toEqual([expect.objectContaining({ followPlan: true })]);
    expect(h.stacks.get("stacks/cluster")?.ups).toEqual([expect.not.objectContaining({ followPlan: true })]);
    expect(report.reason).toContain("its new plan needs its own approval");
  });

  it("previews a stack whose reference waits for its upstream's first update once that is deployed", async () => {
    const head = h.git.add("head");
    h.git.branches.set("env/test", head);
    const unknown = new Error("unknown stack organization/cloud/test");
    const later = (name: string) => ({
      // Its first preview fails (the stack it reads from is not deployed); the next ones find its changes.
      pending: [unknown, changes("pending", resource(name, "create"))],
      drift: [changes("drift")],
    });
    const { order } = scriptStacks({ cloud: pending("vpc"), cluster: later("nodes"), app: later("web") });
    const report = await h.run(environment({ stacks: THREE }), SYNC);

    expect(order).toEqual(["cloud", "cluster", "app"]);
    expect(report.status).toBe("Synced");
    expect(report.stacks?.map((s) => s.outcome)).toEqual(["applied", "applied", "applied"]);
    expect(report.deployed?.commit).toBe(head);
    // The failed first look and the second one each keep their own stage times.
    expect(Object.keys(report.timings)).toEqual(
      expect.arrayContaining(["cluster.preview", "cluster.again.preview", "app.again.preview"]),
    );
  });

  it("with an approval, applies the upstream and leaves a deferred stack for the next approved plan", async () => {
    const head = h.git.add("head");
    h.git.branches.set("env/test", head);
    const gates = { ...NO_GATES, approval: { required: 1, approvers: [], allowSelfApproval: true } };
    const env = environment({ stacks: THREE.slice(0, 2), gates });
    const vpc = changes("pending", resource("vpc", "create"));
    const nodes = changes("pending", resource("nodes", "create"));
    const unknown = new Error("unknown stack organization/cloud/test");
    const { order } = scriptStacks({
      // Previews: the first run, the second, its re-verification under the lease; then deployed.
      cloud: { pending: [vpc, vpc, vpc, changes("pending")], drift: [changes("drift")] },
      // Until cloud is deployed its preview fails; then it finds its changes.
      cluster: { pending: [unknown, unknown, nodes], drift: [changes("drift")] },
    });
    const first = await h.run(env, CHECK);
    expect(first.status).toBe("AwaitingApproval");
    expect(first.stacks?.map((s) => [s.name, s.outcome])).toEqual([
      ["cloud", "unchanged"],
      ["cluster", "deferred"],
    ]);
    expect(first.stacks?.[1]?.reason).toContain("previewed once cloud is deployed");
    await h.approve(head, first.plan!.digest);
    const second = await h.run(env, SYNC);
    expect(order).toEqual(["cloud"]);
    expect(second.status).toBe("AwaitingApproval");
    expect(second.reason).toContain("stack cluster");
    expect(second.stacks?.map((s) => s.outcome)).toEqual(["applied", "unchanged"]);

    // Now cluster's changes are known: the next plan shows them, under a new digest.
    const third = await h.run(env, CHECK);
    expect(third.status).toBe("AwaitingApproval");
    expect(third.plan?.digest).not.toBe(first.plan?.digest);
    expect(third.pending?.resources.map((r) => r.name)).toEqual(["nodes"]);
  });

  it("a stack's own drift.ignore rules cover its drift only, beside the environment's", async () => {
    const head = h.git.add("head");
    h.git.branches.set("env/test", head);
    const tagged = (name: string) => ({
      ...resource(name, "drifted"),
      properties: [
        { path: "tags.team", kind: "update" as const, old: "web", new: "finops", replaces: false },
      ],
    });
    scriptStacks({
      cloud: { pending: [changes("pending")], drift: [changes("drift", tagged("vpc"))] },
      cluster: { pending: [changes("pending")], drift: [changes("drift", tagged("nodes"))] },
    });
    const rule = { resource: { name: "*" }, property: "tags.team", reason: "the cost tool re-tags team" };
    const stacks = [THREE[0]!, { ...THREE[1]!, ignore: [rule] }];
    const report = await h.run(environment({ stacks }), CHECK);

    expect(report.drift?.resources.map((r) => r.name)).toEqual(["vpc"]);
    expect(report.ignoredDrift?.properties).toEqual([
      expect.objectContaining({ name: "nodes", ignoredBy: expect.objectContaining({ reason: rule.reason }) }),
    ]);
    expect(report.stacks?.map((s) => [s.name, s.status])).toEqual([
      ["cloud", "Drifted"],
      ["cluster", "Synced"],
    ]);
  });

  it("updates only the stacks with something to apply", async () => {
    const head = h.git.add("head");
    h.git.branches.set("env/test", head);
    const { order } = scriptStacks({ cloud: {}, cluster: pending("nodes"), app: {} });
    const report = await h.run(environment({ stacks: THREE }), SYNC);

    expect(order).toEqual(["cluster"]);
    expect(report.status).toBe("Synced");
    expect(report.stacks?.map((s) => s.outcome)).toEqual(["unchanged", "applied", "unchanged"]);
  });

  it("changes nothing when one stack cannot be observed, and names it", async () => {
    const head = h.git.add("head");
    h.git.branches.set("env/test", head);
    const { order } = scriptStacks({
      cloud: pending("vpc"),
      cluster: {
        ...pending("nodes"),
        pendingOperations: [{ operation: "creating", urn: "urn:x", type: "aws:s3/bucket:Bucket" }],
      },
      app: pending("web"),
    });
    const report = await h.run(environment({ stacks: THREE }), SYNC);

    expect(order).toEqual([]);
    expect(report.status).toBe("Failed");
    expect(report.reason).toContain("stack cluster");
    expect(report.stacks?.map((s) => s.outcome)).toEqual(["unchanged", "stopped", "unchanged"]);
  });
});

describe("observing the stacks of one head", () => {
  it("checks the head out once, then observes each stack in its own project folder", async () => {
    const head = h.git.add("head");
    h.git.branches.set("env/test", head);
    h.stack = new FakeStack({
      pending: [changes("pending"), changes("pending")],
      drift: [changes("drift"), changes("drift")],
    });
    const ctx = h.context();
    const { timings, timed } = stageTimer();
    const env = environment();
    const facts: ObservedFacts = {};
    const checkedOut = await checkoutHead(ctx, env, { timed }, facts);
    if ("kind" in checkedOut) throw new Error(`stopped: ${checkedOut.reason}`);
    expect(facts).toMatchObject({ head, desired: { sha: head } });

    const projects = [];
    for (const project of ["stacks/aws", "stacks/app"]) {
      const result = await observeStack(
        ctx,
        { ...env, project },
        { kind: "check", log: h.log, timed },
        checkedOut,
      );
      if (result.kind !== "observed") throw new Error(`not observed: ${result.kind}`);
      expect(result.observation).toMatchObject({ head, desired: { sha: head }, workDir: checkedOut.workDir });
      projects.push(result.observation.projectDir.slice(checkedOut.workDir.length + 1));
    }
    expect(projects).toEqual(["stacks/aws", "stacks/app"]);
    expect(h.git.checkouts).toHaveLength(1);
    expect(Object.keys(timings).slice(0, 2)).toEqual(["poll", "checkout"]);
  });

  it("stops Unknown at the checkout when the branch is gone", async () => {
    const { timed } = stageTimer();
    const stopped = await checkoutHead(h.context(), environment(), { timed }, {});
    expect(stopped).toMatchObject({ kind: "stopped", status: "Unknown" });
  });
});
