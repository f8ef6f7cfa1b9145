import type { EnvironmentStatus } from "../domain/model";
import type { ChangeSet } from "../domain/changes";

/** The status an observation implies, before any sync. */
export function observedStatus(
  pending: ChangeSet | undefined,
  drift: ChangeSet | undefined,
): EnvironmentStatus {
  const outOfSync = (pending?.resources.length ?? 0) > 0;
  const drifted = (drift?.resources.length ?? 0) > 0;
  if (outOfSync && drifted) return "OutOfSync+Drifted";
  if (outOfSync) return "OutOfSync";
  if (drifted) return "Drifted";
  return "Synced";
}

export interface SyncDecision {
  sync: boolean;
  /** Refresh before the update so drift is restored too. */
  remediate: boolean;
  /** Why not, when sync is false and there is something to do. */
  reason?: string;
}

/**
 * Whether there is anything for an update to do under the drift policy. Whether it may run is the
 * gates' call (a gated sync policy is an approval gate).
 */
export function decideSync(
  policy: { drift: "report" | "remediate" },
  pending: ChangeSet | undefined,
  drift: ChangeSet | undefined,
): SyncDecision {
  const hasPending = (pending?.resources.length ?? 0) > 0;
  const hasDrift = (drift?.resources.length ?? 0) > 0;
  const remediate = hasDrift && policy.drift === "remediate";
  if (!hasPending && !remediate) {
    return {
      sync: false,
      remediate: false,
      reason: hasDrift ? "drift policy is report: drift is reported, not restored" : undefined,
    };
  }
  return { sync: true, remediate };
}
