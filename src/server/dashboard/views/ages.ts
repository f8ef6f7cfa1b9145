import type { EnvironmentStatus } from "../../../domain/model";
import { age, span } from "../../../render/format";

// Ages as people read them on a page: "3h ago" for a moment, "out of sync for 3h" for a status.

const STATUS_WORDS: Record<EnvironmentStatus, string> = {
  Synced: "in sync",
  OutOfSync: "out of sync",
  Drifted: "drifted",
  "OutOfSync+Drifted": "out of sync and drifted",
  AwaitingApproval: "awaiting approval",
  Blocked: "blocked",
  Progressing: "progressing",
  Failed: "failing",
  Interrupted: "interrupted",
  Stalled: "stalled",
  Unknown: "unknown",
};

/** "3h ago", "just now"; "?" for a time that cannot be read. */
export function ago(iso: string, now: Date): string {
  return age(iso, now);
}

/** "out of sync for 3h", "in sync for 2d"; undefined when it is not known since when. */
export function statusAge(
  status: EnvironmentStatus,
  since: string | undefined,
  now: Date,
): string | undefined {
  if (since === undefined) return undefined;
  const ms = now.getTime() - Date.parse(since);
  if (Number.isNaN(ms)) return undefined;
  return `${STATUS_WORDS[status]} for ${span(ms) ?? "a few seconds"}`;
}

/** The class that colours a status: "OutOfSync+Drifted" → "status-out-of-sync-drifted". */
export function statusClass(status: EnvironmentStatus): string {
  const words = status.replace(/\+/g, "-").replace(/([a-z])([A-Z])/g, "$1-$2");
  return `status-${words.toLowerCase()}`;
}
