import { describe, expect, it } from "vitest";
import { checkoutHead, observeStack, type ObservedFacts } from "../../../src/reconcile/observe";
import { stageTimer } from "../../../src/reconcile/types";
import { FakeStack, changes, resource } from "../../support/fake-stack";
import { SYNC, environment, useRunHarness } from "../../support/run-harness";

// An environment of several stacks through one run. Until the phases run every stack, a run must
// not quietly deploy only the first one.

const h = useRunHarness();

describe("a run of an environment of several stacks", () => {
  it("is Blocked and touches no stack until runs of several stacks are built", async () => {
    const head = h.git.add("head");
    h.git.branches.set("env/test", head);
    h.stack = new FakeStack({
      pending: [changes("pending", resource("logs", "create"))],
      drift: [changes("drift")],
    });
    const report = await h.run(
      environment({
        stacks: [
          { name: "cloud", project: "stacks/aws", stack: "test", dependsOn: [] },
          { name: "app", project: "stacks/app", stack: "test", dependsOn: ["cloud"] },
        ],
      }),
      SYNC,
    );
    expect(report).toMatchObject({ status: "Blocked", reason: expect.stringContaining("lists 2 stacks") });
    expect(h.stack.calls).toEqual([]);
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
