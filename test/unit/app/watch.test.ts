import { describe, expect, it, vi } from "vitest";
import { changedRuns, type RunMark, runMarks, watchRuns } from "../../../src/app/watch";

const mark = (
  environment: string,
  runId: string | undefined,
  status: RunMark["status"] = "Synced",
): RunMark => ({
  environment,
  ...(runId ? { runId } : {}),
  status,
});

describe("changedRuns", () => {
  it("names the environments whose latest run or its status changed, and no others", () => {
    const before = [mark("test", "r1"), mark("stage", "r2"), mark("prod", undefined, "Unknown")];
    const after = [
      mark("test", "r1"),
      mark("stage", "r3", "Drifted"),
      mark("prod", undefined, "Unknown"),
      mark("qa", "r4"),
    ];
    expect(changedRuns(before, after).map((m) => m.environment)).toEqual(["stage", "qa"]);
    expect(changedRuns(after, [mark("test", "r1", "Failed")]).map((m) => m.environment)).toEqual(["test"]);
    expect(changedRuns(after, after)).toEqual([]);
  });
});

describe("runMarks", () => {
  it("reads the store's status rows, and nothing when there is no store", async () => {
    const statuses = vi.fn(async () => [
      {
        environment: "prod",
        branch: "prod",
        stack: "prod",
        status: "Synced" as const,
        pendingCount: 0,
        driftCount: 0,
        lastRunId: "r9",
        updatedAt: "2026-01-01T00:00:00.000Z",
      },
    ]);
    const store = { statuses } as unknown as NonNullable<Parameters<typeof runMarks>[0]["store"]>;
    expect(await runMarks({ store })).toEqual([
      { environment: "prod", runId: "r9", status: "Synced", updatedAt: "2026-01-01T00:00:00.000Z" },
    ]);
    expect(await runMarks({})).toEqual([]);
  });
});

describe("watchRuns", () => {
  it("takes the first poll as the baseline, reports changes after it, survives a failed poll, and stops", async () => {
    let current: RunMark[] = [mark("prod", "r1")];
    let fail = false;
    const marks = vi.fn(async () => {
      if (fail) throw new Error("store busy");
      return current;
    });
    const onRun = vi.fn();
    const onError = vi.fn();
    const watch = watchRuns({ marks, intervalMs: 5, onRun, onError });
    await vi.waitFor(() => expect(marks.mock.calls.length).toBeGreaterThanOrEqual(2));
    expect(onRun).not.toHaveBeenCalled();
    fail = true;
    await vi.waitFor(() => expect(onError).toHaveBeenCalled());
    fail = false;
    current = [mark("prod", "r2", "Drifted")];
    await vi.waitFor(() => expect(onRun).toHaveBeenCalledWith(mark("prod", "r2", "Drifted")));
    watch.stop();
    const calls = marks.mock.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(marks.mock.calls.length).toBe(calls);
    expect(onRun).toHaveBeenCalledTimes(1);
  });
});
