import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import { formatOwnerId, isOwnerDead, type IsDead, type OwnerId } from "../domain/owner";
import { isProcessAlive } from "./pid";

// This process's owner id, and the deadness decision fed with what this host can tell about pids.

/** How often a process refreshes the heartbeat of its unfinished runs. */
export const HEARTBEAT_INTERVAL_MS = 10_000;
/** A run on another host whose heartbeat is older than this is taken for dead (several missed beats). */
export const HEARTBEAT_TTL_MS = 60_000;

/** A new owner id for this process: host, pid, process start time and a random suffix. */
export function processOwner(): OwnerId {
  return formatOwnerId({
    host: os.hostname(),
    pid: process.pid,
    start: processStart(process.pid) ?? "",
    suffix: randomUUID().slice(0, 8),
  });
}

/**
 * When the process started, in clock ticks since boot (Linux: field 22 of /proc/<pid>/stat);
 * undefined where there is no /proc or the process is gone. Only compared for equality.
 */
export function processStart(pid: number): string | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields[19];
}

/** The deadness decision (at `now`, or whenever it is asked), for the store's markInterrupted and lease takeover. */
export function ownerDeadness(options: { now?: number; ttlMs?: number } = {}): IsDead {
  const probe = {
    host: os.hostname(),
    ttlMs: options.ttlMs ?? HEARTBEAT_TTL_MS,
    pidAlive: isProcessAlive,
    startOf: processStart,
  };
  // The clock is read at each decision: a long-running daemon keeps one of these for its lifetime.
  return (owner, heartbeatAt) =>
    isOwnerDead(owner, heartbeatAt, { ...probe, now: options.now ?? Date.now() });
}
