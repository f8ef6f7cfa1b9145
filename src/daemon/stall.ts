import type { RunRecord } from "../domain/model";

// When retrying cannot help: the same failure, at the same commit, again and again. Counted from the
// store's run history, so a restart neither forgets nor resets it.

type RunError = NonNullable<RunRecord["error"]>;

/** The default of daemon.stallAfter: identical failures in a row before an environment is Stalled. */
export const DEFAULT_STALL_AFTER = 5;

/** A message with what changes between two tries of the same failure (numbers, ids, durations) masked. */
export function maskVarying(message: string): string {
  return message
    .replace(/\b[0-9a-f]{7,64}\b/gi, "<id>")
    .replace(/\d+(?:\.\d+)?/g, "#")
    .replace(/\s+/g, " ")
    .trim();
}

/** Two failures are the same when their kind and masked message are. */
export function sameFailure(a: RunError, b: RunError): boolean {
  return a.kind === b.kind && maskVarying(a.message) === maskVarying(b.message);
}

export interface FailureStreak {
  /** Identical failures in a row, newest first. */
  count: number;
  /** The newest of them. */
  error?: RunError;
  /** The commit they failed at (undefined when they failed before knowing it). */
  commit?: string;
}

/**
 * The identical failures an environment's newest runs (newest first) end with. A run still going is
 * passed over; a run at another commit, one that did not fail, or a different failure ends the streak.
 */
export function failureStreak(runs: readonly RunRecord[]): FailureStreak {
  let newest: (RunRecord & { error: RunError }) | undefined;
  let count = 0;
  for (const run of runs) {
    if (run.endedAt === undefined) continue;
    if (run.outcome !== "failed" || run.error === undefined) break;
    if (newest && (run.commit !== newest.commit || !sameFailure(run.error, newest.error))) break;
    newest ??= { ...run, error: run.error };
    count++;
  }
  return newest
    ? { count, error: newest.error, ...(newest.commit ? { commit: newest.commit } : {}) }
    : { count };
}
