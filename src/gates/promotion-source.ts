import type { EnvironmentState } from "../domain/model";
import { shortCommit } from "./text";

// Whether an environment may be promoted from: what is promoted is its program in Git, so its head
// must be deployed there (nothing pending). Drift there is the live world moving, not the program:
// a warning, and a refusal only where the target's promotion gate says requireNoDrift.

export interface PromotionSource {
  name: string;
  branch: string;
}

export interface SourceVerdict {
  /** Why the promotion is refused; undefined: it may go on. */
  refusal?: string;
  /** Shown with the promotion's outcome (drift on the source). */
  warnings: string[];
}

/** The statuses whose last check previewed the head: with nothing pending, the head is deployed. */
const JUDGED: ReadonlySet<EnvironmentState["status"]> = new Set([
  "Synced",
  "Drifted",
  // A drift restore waiting on its gates: the head itself is deployed.
  "AwaitingApproval",
  "Blocked",
]);

export function judgeSource(
  from: PromotionSource,
  head: string,
  state: EnvironmentState | undefined,
  target: { name: string; requireNoDrift?: boolean },
): SourceVerdict {
  const again = `check it first: tidegate sync ${from.name}`;
  const at = shortCommit(head);
  if (!state?.headCommit)
    return { refusal: `${from.name} has not been checked at ${at}; ${again}`, warnings: [] };
  if (state.headCommit !== head) {
    return {
      refusal: `${from.name}'s branch '${from.branch}' is at ${at}, but its last check was of ${shortCommit(state.headCommit)}, so ${at} is not known to work there; ${again}`,
      warnings: [],
    };
  }
  if (!JUDGED.has(state.status) || state.pendingCount > 0) {
    const why = state.reason ? ` (${oneLine(state.reason.split("\n", 1)[0] ?? "")})` : "";
    return {
      refusal: `${from.name} is ${state.status} at ${at}${why}; only an environment whose head is deployed (nothing pending) is promoted from`,
      warnings: [],
    };
  }
  if (state.driftCount === 0) return { warnings: [] };
  const drift = `${from.name} shows drift on ${state.driftCount} resource(s): its live resources differ from what was deployed`;
  if (target.requireNoDrift) {
    return {
      refusal: `${drift}, and ${target.name}'s promotion gate requires no drift; restore or accept it first (tidegate sync ${from.name} --restore-drift | --accept-drift)`,
      warnings: [],
    };
  }
  return {
    warnings: [
      `${drift}; the program is promoted, not the drift (restore or accept it: tidegate sync ${from.name} --restore-drift | --accept-drift)`,
    ],
  };
}

function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f]+/g, " ").trim();
}
