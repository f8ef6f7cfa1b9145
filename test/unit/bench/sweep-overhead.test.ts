import { describe, expect, it } from "vitest";

import { formatGoalTable, judge } from "../../../bench/goals";
import { overheadRows, summarizeSweep } from "../../../bench/sweep-overhead";

describe("replica sweep overhead", () => {
  const sweep = summarizeSweep("taking ownership", 200, [
    { wallMs: 4000, ownershipMs: 100, acquireMs: 80, claimed: 100, lost: 3, polls: 100 },
    { wallMs: 6000, ownershipMs: 300, acquireMs: 240, claimed: 100, lost: 4, polls: 101 },
  ]);

  it("shares the replicas' heartbeat time over their sweep time; wall time is the slowest replica", () => {
    expect(sweep.overhead).toBeCloseTo(400 / 10_000);
    expect(sweep.wallMs).toBe(6000);
    expect(sweep.acquireMsPerPair).toBeCloseTo(320 / 200);
    expect(sweep.ownershipMsPerPair).toBeCloseTo(400 / 200);
    expect(sweep.beatMs).toBeCloseTo(400 / 2);
    expect(sweep).toMatchObject({ replicas: 2, pairs: 200, polls: 201, claimed: 200, lost: 7 });
  });

  it("has no overhead to tell of a sweep that took no time, and refuses no replicas", () => {
    const idle = summarizeSweep("holding ownership", 0, [
      { wallMs: 0, ownershipMs: 0, acquireMs: 0, claimed: 0, lost: 0, polls: 0 },
    ]);
    expect(idle.overhead).toBeNaN();
    expect(idle.acquireMsPerPair).toBeNaN();
    expect(() => summarizeSweep("taking ownership", 200, [])).toThrow(/no replica samples/);
  });

  it("judges taking ownership by its share of the sweep, holding it by its share of the heartbeat interval", () => {
    const held = summarizeSweep("holding ownership", 200, [
      { wallMs: 50, ownershipMs: 300, acquireMs: 0, claimed: 0, lost: 0, polls: 100 },
      { wallMs: 40, ownershipMs: 100, acquireMs: 0, claimed: 0, lost: 0, polls: 100 },
    ]);
    const results = judge(overheadRows([sweep, held], 9000, 5000));
    // 200 ms a heartbeat on average, every 5 s: 4%; of this sweep it would be 400 / 90 ms.
    expect(results.map((r) => [r.value, r.goal, r.unit, r.met])).toEqual([
      [4, 5, "%", true],
      [4, 5, "%", true],
    ]);
    const slow = judge(overheadRows([held], 9000, 3000));
    expect(slow[0]?.met).toBe(false);
    const table = formatGoalTable(results);
    expect(table).toContain(
      "| no-change sweep of 200 pairs, 2 replicas on PostgreSQL, taking ownership: coordination overhead | 4.0% | ≤ 5.0% | yes |",
    );
    expect(table).toContain(
      "sweep 6.00 s (SQLite, one process, no ownership: 9.00 s); heartbeats 2.00 ms per pair (acquiring ownership 1.60 ms per pair); 201 polls, 200 leases taken, 7 races lost",
    );
    expect(table).toContain(
      "2 replicas on PostgreSQL, holding ownership: heartbeat time / heartbeat interval (5.00 s) | 4.0% | ≤ 5.0% | yes |",
    );
    expect(table).toContain(
      "heartbeats 2.00 ms per pair; one heartbeat 200.0 ms, 444.4% of this sweep; 200 polls, 0 leases taken, 0 races lost",
    );
  });
});
