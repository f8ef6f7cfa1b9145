// The arithmetic of the replica sweep rows (bench/replicas.ts), apart so it is unit-tested.
import type { GoalRow } from "./goals";

/** Issue 16's goal: the share of a sweep spent on coordination (ownership heartbeats). */
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
    polls: sum((s) => s.polls),
    claimed: sum((s) => s.claimed),
    lost: sum((s) => s.lost),
  };
}

/** The goals-table rows: each replica count's coordination overhead beside the 5% goal. */
export function overheadRows(sweeps: readonly SweepSummary[], baselineMs: number): GoalRow[] {
  return sweeps.map((sweep) => ({
    measure: `no-change sweep of ${sweep.pairs} pairs, ${sweep.replicas} replica${sweep.replicas === 1 ? "" : "s"} on PostgreSQL, ${sweep.phase}: coordination overhead`,
    value: sweep.overhead * 100,
    goal: OVERHEAD_GOAL * 100,
    unit: "%",
    detail:
      `sweep ${seconds(sweep.wallMs)} (SQLite, one process, no ownership: ${seconds(baselineMs)}); ` +
      `heartbeats ${sweep.ownershipMsPerPair.toFixed(2)} ms per pair` +
      (sweep.claimed > 0 ? ` (acquiring ownership ${sweep.acquireMsPerPair.toFixed(2)} ms per pair)` : "") +
      `; ${sweep.polls} polls, ${sweep.claimed} leases taken, ${sweep.lost} races lost`,
  }));
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
