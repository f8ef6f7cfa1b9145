import { describe, expect, it } from "vitest";
import { DEFAULT_LEASE_WAIT_MS } from "../../../src/app/environment-lease";
import { UsageError } from "../../../src/cli/command";
import { waitForHolder, waitOption } from "../../../src/cli/lease-wait";

const args = (values: Record<string, string>) => ({ values, positionals: ["test"] });

describe("--wait", () => {
  it("bounds the wait for another holder: a duration, by default ten minutes", () => {
    expect(waitOption(args({ wait: "90s" }), "sync")).toBe(90_000);
    expect(waitOption(args({ wait: "0" }), "sync")).toBe(0);
    expect(waitOption(args({}), "sync")).toBe(DEFAULT_LEASE_WAIT_MS);
  });

  it("refuses what is not a duration, naming the option and the forms it takes", () => {
    expect(() => waitOption(args({ wait: "soon" }), "sync")).toThrow(UsageError);
    expect(() => waitOption(args({ wait: "soon" }), "sync")).toThrow(
      /--wait: expected a duration like "90s".*got "soon"/,
    );
  });

  it("says who holds the environment", () => {
    const lines: string[] = [];
    const policy = waitForHolder("test", 1_000, (text) => lines.push(text));
    if (policy.kind !== "wait") throw new Error("expected a waiting policy");
    policy.onWaiting?.({
      owner: "ci-1/7/1/run-a",
      host: "ci-1",
      pid: 7,
      runId: "run-a",
      since: "2026-01-01T10:00:00.000Z",
    });
    expect(lines).toEqual([
      "tidegate: environment test is held by ci-1 pid 7 (run run-a, since 2026-01-01T10:00:00.000Z); waiting…\n",
    ]);
  });
});
