import { describe, expect, it } from "vitest";
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
