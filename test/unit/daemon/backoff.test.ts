import { describe, expect, it } from "vitest";
import { Backoff, retryDelay } from "../../../src/daemon/backoff";
import { failureStreak, maskVarying } from "../../../src/daemon/stall";
import type { RunRecord } from "../../../src/domain/model";

const SETTINGS = { initialMs: 30_000, maxMs: 60 * 60_000 };

describe("retryDelay", () => {
  it("doubles from the initial wait to the cap, drawn from the upper half of each", () => {
    const low = (failures: number) => retryDelay(failures, SETTINGS, () => 0);
    const high = (failures: number) => retryDelay(failures, SETTINGS, () => 1 - Number.EPSILON);
    expect([1, 2, 3, 4].map(low)).toEqual([15_000, 30_000, 60_000, 120_000]);
    expect([1, 2, 3, 4].map(high)).toEqual([30_000, 60_000, 120_000, 240_000]);
    // 30 s × 2^7 = 64 min is past the cap: from then on it stays at 30..60 min.
    expect(low(8)).toBe(30 * 60_000);
    expect(high(8)).toBe(60 * 60_000);
    expect(high(1_000)).toBe(60 * 60_000);
  });
});

describe("Backoff", () => {
  it("holds a failing key until its retry time, resets on success, and leaves other keys alone", () => {
    let now = Date.parse("2026-01-01T00:00:00Z");
    const backoff = new Backoff(
      SETTINGS,
      () => new Date(now),
      () => 0.5,
    );
    expect(backoff.holding("test")).toBeUndefined();
    const first = backoff.failed("test");
    expect(first).toMatchObject({ failures: 1, delayMs: 22_500 });
    expect(backoff.holding("test")?.failures).toBe(1);
    expect(backoff.holding("prod")).toBeUndefined();
    now += 22_499;
    expect(backoff.holding("test")).toBeDefined();
    now += 1;
    expect(backoff.holding("test")).toBeUndefined();
    expect(backoff.failed("test")).toMatchObject({ failures: 2, delayMs: 45_000 });
    expect(backoff.succeeded("test")?.failures).toBe(2);
    expect(backoff.holding("test")).toBeUndefined();
    expect(backoff.failed("test").failures).toBe(1);
  });
});

function run(n: number, fields: Partial<RunRecord>): RunRecord {
  return {
    id: `r${n}`,
    environment: "test",
    stack: "test",
    kind: "check",
    trigger: "schedule:poll",
    startedAt: `2026-01-01T00:0${n}:00.000Z`,
    endedAt: `2026-01-01T00:0${n}:30.000Z`,
    outcome: "failed",
    commit: "c1",
    error: { kind: "invalid", message: "stacks/app/Pulumi.yaml: backend is set" },
    ...fields,
  };
}

describe("failureStreak", () => {
  it("counts the identical failures at one commit the newest runs end with", () => {
    const runs = [
      run(5, {}),
      run(4, {}),
      run(3, {}),
      run(2, { outcome: "succeeded", error: undefined }),
      run(1, {}),
    ];
    expect(failureStreak(runs)).toMatchObject({ count: 3, commit: "c1", error: { kind: "invalid" } });
  });

  it("masks what varies between tries, and passes over a run still going", () => {
    const timedOut = (ms: number, id: string) => ({
      kind: "timeout",
      message: `npm install timed out after ${ms} ms (run ${id})`,
    });
    const runs = [
      run(4, { endedAt: undefined, outcome: undefined, error: undefined }),
      run(3, { error: timedOut(60_013, "4f9a2c1d") }),
      run(2, { error: timedOut(60_002, "0b7e11aa") }),
    ];
    expect(failureStreak(runs).count).toBe(2);
    expect(maskVarying("after 60013 ms (run 4f9a2c1d)")).toBe("after # ms (run <id>)");
  });

  it("ends at a different failure, another commit or a run that did not fail", () => {
    expect(failureStreak([run(3, {}), run(2, { error: { kind: "invalid", message: "other" } })]).count).toBe(
      1,
    );
    expect(
      failureStreak([run(3, {}), run(2, { error: { kind: "internal", message: run(1, {}).error!.message } })])
        .count,
    ).toBe(1);
    expect(failureStreak([run(3, {}), run(2, { commit: "c0" })]).count).toBe(1);
    expect(failureStreak([run(3, { outcome: "interrupted" }), run(2, {})]).count).toBe(0);
    expect(failureStreak([])).toEqual({ count: 0 });
  });
});
