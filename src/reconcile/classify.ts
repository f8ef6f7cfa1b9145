import type { EnvironmentStatus } from "../domain/model";
import type { DriftResolution } from "../domain/gates";
import type { ChangeSet } from "../domain/changes";
import { hasRestorableDrift, keptDrift, keptDriftNote } from "../domain/restorable";

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
  const remediate = hasRestorableDrift(drift) && policy.drift === "remediate";
  if (!hasPending && !remediate) {
    const reason = !hasDrift
      ? undefined
      : policy.drift === "report"
        ? "drift policy is report: drift is reported, not restored"
        : `an update cannot restore this drift: ${keptDriftNote(keptDrift(drift))}`;
    return { sync: false, remediate: false, ...(reason ? { reason } : {}) };
  }
  return { sync: true, remediate };
}

/**
 * What a person's restore or accept of drift does. Restore is a remediating sync whatever the drift
 * policy (pending changes are applied with it); accept takes the live values into the state and
 * applies nothing of the program. Neither has anything to do without drift.
 */
export function decideResolution(
  resolve: DriftResolution,
  pending: ChangeSet | undefined,
  drift: ChangeSet | undefined,
): SyncDecision {
  if ((drift?.resources.length ?? 0) === 0) {
    const what = resolve === "restore-drift" ? "restore" : "accept";
    const rest = (pending?.resources.length ?? 0) > 0 ? "; a plain sync applies the pending changes" : "";
    return { sync: false, remediate: false, reason: `no drift to ${what}${rest}` };
  }
  if (resolve === "restore-drift" && !hasRestorableDrift(drift))
    return {
      sync: false,
      remediate: false,
      reason: `an update cannot restore this drift: ${keptDriftNote(keptDrift(drift))}`,
    };
  return { sync: true, remediate: resolve === "restore-drift" };
}
