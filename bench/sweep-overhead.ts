// The arithmetic of the replica sweep rows (bench/replicas.ts), apart so it is unit-tested.
import type { GoalRow } from "./goals";

/**
 * Issue 16's goal: coordination under 5%. Taking ownership, of the sweep that takes it; holding it,
 * of the replica's time (a heartbeat every interval, whatever the sweeps do).
 */
export const OVERHEAD_GOAL = 0.05;

/** What one replica did during one sweep. */
export interface ReplicaSample {
  /** From the sweep's start until this replica had looked at everything it owns. */
  wallMs: number;
  /** Inside its ownership heartbeats (claims, renewals, listing the leases). */
  ownershipMs: number;
  /** Inside the store's acquire of an environment's `owner:` lease, successful or not. */
  acquireMs: number;
  /** Ownership leases it took. */
  claimed: number;
  /** Acquire calls that found the lease taken (races lost to another replica). */
  lost: number;
  /** Polls it ran. */
  polls: number;
}

/** A sweep's ownership: taken during it (the replicas' first), or held from before (every later one). */
export type SweepPhase = "taking ownership" | "holding ownership";

export interface SweepSummary {
  phase: SweepPhase;
  replicas: number;
  pairs: number;
  /** Until the last replica was done. */
  wallMs: number;
  /** Every replica's heartbeat time over every replica's sweep time (each replica works in parallel). */
  overhead: number;
  /** Acquiring ownership, per pair: every acquire call (lost races too) over the pairs. */
  acquireMsPerPair: number;
  /** Every heartbeat's time (acquire, renew, list, release) over the pairs. */
  ownershipMsPerPair: number;
  /** One replica's heartbeat time, on average over the replicas. */
  beatMs: number;
  polls: number;
  claimed: number;
  lost: number;
}

export function summarizeSweep(
  phase: SweepPhase,
  pairs: number,
  samples: readonly ReplicaSample[],
): SweepSummary {
  if (samples.length === 0) throw new Error("summarizeSweep: no replica samples");
  const sum = (pick: (s: ReplicaSample) => number) => samples.reduce((total, s) => total + pick(s), 0);
  const busy = sum((s) => s.wallMs);
  return {
    phase,
    replicas: samples.length,
    pairs,
    wallMs: Math.max(...samples.map((s) => s.wallMs)),
    overhead: busy > 0 ? sum((s) => s.ownershipMs) / busy : Number.NaN,
    acquireMsPerPair: pairs > 0 ? sum((s) => s.acquireMs) / pairs : Number.NaN,
    ownershipMsPerPair: pairs > 0 ? sum((s) => s.ownershipMs) / pairs : Number.NaN,
    beatMs: sum((s) => s.ownershipMs) / samples.length,
    polls: sum((s) => s.polls),
    claimed: sum((s) => s.claimed),
    lost: sum((s) => s.lost),
  };
}

/**
 * The goals-table rows. Taking ownership: the replicas' heartbeat time over their sweep time.
 * Holding it: one heartbeat over the heartbeat interval, the share of a replica's time it costs; a
 * heartbeat comes on its own timer, so its share of one no-change sweep (in the detail) says as
 * much about how cheap the polls are as about what coordination costs.
 */
export function overheadRows(
  sweeps: readonly SweepSummary[],
  baselineMs: number,
  heartbeatMs: number,
): GoalRow[] {
  return sweeps.map((sweep) => {
    const holding = sweep.phase === "holding ownership";
    const of = holding
      ? `heartbeat time / heartbeat interval (${seconds(heartbeatMs)})`
      : "coordination overhead";
    return {
      measure: `no-change sweep of ${sweep.pairs} pairs, ${sweep.replicas} replica${sweep.replicas === 1 ? "" : "s"} on PostgreSQL, ${sweep.phase}: ${of}`,
      value: (holding ? sweep.beatMs / heartbeatMs : sweep.overhead) * 100,
      goal: OVERHEAD_GOAL * 100,
      unit: "%",
      detail:
        `sweep ${seconds(sweep.wallMs)} (SQLite, one process, no ownership: ${seconds(baselineMs)}); ` +
        `heartbeats ${sweep.ownershipMsPerPair.toFixed(2)} ms per pair` +
        (sweep.claimed > 0 ? ` (acquiring ownership ${sweep.acquireMsPerPair.toFixed(2)} ms per pair)` : "") +
        (holding
          ? `; one heartbeat ${sweep.beatMs.toFixed(1)} ms, ${(sweep.overhead * 100).toFixed(1)}% of this sweep`
          : "") +
        `; ${sweep.polls} polls, ${sweep.claimed} leases taken, ${sweep.lost} races lost`,
    };
  });
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
