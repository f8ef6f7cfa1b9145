import { describe, expect, it } from "vitest";

import type { StackNode } from "../../../src/domain/stacks";
import { forEachStack } from "../../../src/reconcile/stack-order";

const node = (name: string, ...dependsOn: string[]): StackNode => ({ name, dependsOn });

// cloud → cluster → app; dns beside cloud, app needs it too; docs needs nothing.
const STACKS = [
  node("app", "cluster", "dns"),
  node("cloud"),
  node("cluster", "cloud"),
  node("dns"),
  node("docs"),
];

/** Work that records when each stack starts and ends, each taking a few ticks; `fail` names the stacks that fail. */
function recorder(fail: Record<string, "returns" | "throws"> = {}) {
  const events: string[] = [];
  let running = 0;
  let most = 0;
  const work = async (stack: StackNode) => {
    events.push(`start ${stack.name}`);
    running += 1;
    most = Math.max(most, running);
    await new Promise((resolve) => setTimeout(resolve, 5));
    running -= 1;
    events.push(`end ${stack.name}`);
    if (fail[stack.name] === "throws") throw new Error(`${stack.name} broke`);
    return { ok: fail[stack.name] !== "returns", value: stack.name.toUpperCase() };
  };
  return { events, work, most: () => most };
}

describe("forEachStack, ordered (updates)", () => {
  it("starts a stack only after everything it depends on is done, within the limit", async () => {
    const { events, work, most } = recorder();
    const outcomes = await forEachStack(STACKS, { limit: 2, ordered: true }, work);
    expect(outcomes.map((o) => [o.name, o.kind])).toEqual([
      ["cloud", "done"],
      ["dns", "done"],
      ["docs", "done"],
      ["cluster", "done"],
      ["app", "done"],
    ]);
    expect(outcomes[0]).toEqual({ name: "cloud", kind: "done", value: "CLOUD" });
    for (const [before, after] of [
      ["cloud", "cluster"],
      ["cluster", "app"],
      ["dns", "app"],
    ]) {
      expect(events.indexOf(`end ${before}`)).toBeLessThan(events.indexOf(`start ${after}`));
    }
    expect(most()).toBe(2);
  });

  it("skips what depends on a failed stack, naming it, and finishes the others", async () => {
    const { events, work } = recorder({ cluster: "returns" });
    const outcomes = await forEachStack(STACKS, { limit: 4, ordered: true }, work);
    expect(outcomes).toEqual([
      { name: "cloud", kind: "done", value: "CLOUD" },
      { name: "dns", kind: "done", value: "DNS" },
      { name: "docs", kind: "done", value: "DOCS" },
      { name: "cluster", kind: "failed", value: "CLUSTER" },
      { name: "app", kind: "skipped", because: "cluster" },
    ]);
    expect(events).not.toContain("start app");
  });

  it("takes a throw as a failure, and skips transitive dependents after the root cause", async () => {
    const { work } = recorder({ cloud: "throws" });
    const outcomes = await forEachStack(STACKS, { limit: 1, ordered: true }, work);
    expect(outcomes.map((o) => [o.name, o.kind, o.kind === "skipped" ? o.because : ""])).toEqual([
      ["cloud", "failed", ""],
      ["dns", "done", ""],
      ["docs", "done", ""],
      ["cluster", "skipped", "cloud"],
      ["app", "skipped", "cloud"],
    ]);
    expect((outcomes[0] as { error: Error }).error.message).toBe("cloud broke");
  });
});

describe("forEachStack, unordered (previews)", () => {
  it("runs every stack side by side within the limit, a failure stopping nothing", async () => {
    const limited = recorder({ cloud: "throws" });
    const outcomes = await forEachStack(STACKS, { limit: 3, ordered: false }, limited.work);
    expect(outcomes.map((o) => o.kind)).toEqual(["failed", "done", "done", "done", "done"]);
    expect(limited.most()).toBe(3);
    // Unbounded, dependents do not wait: app starts before cloud, which it needs, has ended.
    const all = recorder();
    await forEachStack(STACKS, { limit: 10, ordered: false }, all.work);
    expect(all.most()).toBe(5);
    expect(all.events.indexOf("start app")).toBeLessThan(all.events.indexOf("end cloud"));
  });

  it("runs one stack alone, and reads a limit below one as one", async () => {
    const { work, most } = recorder();
    expect(await forEachStack([node("test")], { limit: 0, ordered: false }, work)).toEqual([
      { name: "test", kind: "done", value: "TEST" },
    ]);
    expect(most()).toBe(1);
  });
});
