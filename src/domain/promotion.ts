import type { ChangeSet } from "./changes";
import type { CommitInfo } from "./model";

export type PromoteOutcome = "promoted" | "up-to-date" | "refused" | "dry-run";

export interface PromoteResult {
  outcome: PromoteOutcome;
  /** One line a person can act on: what was done, or why nothing was. */
  reason: string;
  /** How the target moved (or would have, for a dry run). */
  kind?: "fast-forward" | "merge";
  /** promoted: the target's new head; dry-run: the head it would get; up-to-date: its head. */
  sha?: string;
  from: { environment: string; branch: string; head?: string; deployed?: string };
  /** `head`: the target's head before the promotion. */
  to: { environment: string; branch: string; head?: string };
  actor: string;
  dryRun: boolean;
  /** Commits on the target that touch the program and are not on the source (refused, or kept when allowed). */
  targetAhead?: CommitInfo[];
  /** The conflicting files, when the merge conflicted. */
  conflicts?: string[];
  /** What a person should know although the promotion went on (drift on the source). */
  warnings?: string[];
  /** Dry run: the target's pending changes on the merged tree. */
  preview?: ChangeSet;
  startedAt: string;
  endedAt: string;
}
