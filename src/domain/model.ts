import type { CommandResult, DriftResolution, GateVerdict, PolicyViolation } from "./gates";
import type { ChangeSet } from "./changes";
import type { ExpiredRule, IgnoredProperty } from "./ignore";

/** The status of an environment, as `tidegate status` shows it. */
export type EnvironmentStatus =
  | "Synced"
  | "OutOfSync"
  | "Drifted"
  | "OutOfSync+Drifted"
  | "AwaitingApproval"
  | "Blocked"
  | "Progressing"
  | "Failed"
  /** A run's process died before the run ended (kill, crash): `tidegate recover <env>` says what it left. */
  | "Interrupted"
  /** The same failure again and again: no scheduled run until the branch, definition or a person changes something. */
  | "Stalled"
  | "Unknown";

/** Statuses whose gates (approvals, windows, soak) may let a later look go further than the last. */
export const WAITS_ON_GATES: ReadonlySet<EnvironmentStatus> = new Set(["AwaitingApproval", "Blocked"]);

export interface CommitInfo {
  sha: string;
  author: string;
  authorEmail: string;
  /** ISO 8601. */
  date: string;
  message: string;
}

export type RunKind = "check" | "drift" | "sync";
export type RunOutcome = "succeeded" | "failed" | "interrupted" | "skipped";
/** "report": observed only, changed nothing by design; "reconcile": could sync or remediate as policy allows. */
export type RunMode = "report" | "reconcile";

/** One check or sync of one environment. */
export interface RunRecord {
  id: string;
  environment: string;
  stack: string;
  kind: RunKind;
  /** Who or what started it: "schedule", "cli:<user>", "webhook". */
  trigger: string;
  /** The commit the run observed at the branch head. */
  commit?: string;
  mode?: RunMode;
  /** The process running it (an OwnerId) and when that process last said it was alive. */
  owner?: string;
  heartbeatAt?: string;
  startedAt: string;
  endedAt?: string;
  outcome?: RunOutcome;
  /** Set when the outcome is failed or interrupted: what went wrong and what to do. */
  error?: { kind: string; message: string; recovery?: string };
}

export interface Timings {
  /** Milliseconds per stage, e.g. { poll: 12, checkout: 300, install: 0, preview: 9000 }. */
  [stage: string]: number;
}

/** Everything one check learned about an environment; rendered as JSON and Markdown. */
export interface RunReport {
  schemaVersion: 1;
  runId: string;
  environment: string;
  stack: string;
  branch: string;
  status: EnvironmentStatus;
  /** Why the status is what it is, in one line (e.g. the gate that said no, or the error). */
  reason?: string;
  desired?: CommitInfo;
  deployed?: { commit?: string };
  pending?: ChangeSet;
  drift?: ChangeSet;
  /** Drift the environment's drift.ignore rules expect (left out of `drift`), and rules that expired. */
  ignoredDrift?: { properties: IgnoredProperty[]; expiredRules: ExpiredRule[] };
  sync?: {
    applied: boolean;
    summary?: Record<string, number>;
    /** Set when a sync window closed while the update ran: it was let finish, and says so. */
    windowClosedDuringUpdate?: string;
  };
  /** The plan the gates judged: what a sync would apply, and its digest (what approvals bind to). */
  plan?: { commit: string; digest: string; remediate: boolean; resolve?: DriftResolution };
  /** Every gate in force and what it said, in evaluation order. */
  gates?: GateVerdict[];
  /** The approvals that count for this plan. */
  approvals?: { approver: string; scope: "sync" | "protected"; at: string }[];
  /** The check commands' outcomes (output kept, secrets redacted). */
  checks?: CommandResult[];
  /** Policy pack findings on the preview. */
  policy?: PolicyViolation[];
  /**
   * The commit being deployed changes this environment's gates. They take effect once it is
   * deployed; until then the gates of the deployed commit apply.
   */
  gatesChange?: { changes: string[] };
  /** The program's dependencies: the lockfile key, and whether this check had to install them. */
  dependencies?: { key: string; installed: boolean };
  /** An environment of several stacks: what each one is and did (its resources are in pending and drift). */
  stacks?: StackReport[];
  startedAt: string;
  endedAt: string;
  timings: Timings;
  versions: { tidegate: string; pulumi: string; node: string };
}

/** One stack of an environment of several, in a run's report. */
export interface StackReport {
  /** Its name in the environment definition. */
  name: string;
  /** The Pulumi project folder and stack. */
  project: string;
  stack: string;
  status: EnvironmentStatus;
  reason?: string;
  /** The commit its deployed state came from (after this run). */
  deployedCommit?: string;
  /** Resources with pending changes and drifted resources this run found in it. */
  pending?: number;
  drift?: number;
  /** What this run did to it: updated, left alone (nothing to apply, or a gate stopped the run), failed, or not started. */
  outcome: "applied" | "unchanged" | "failed" | "skipped" | "stopped" | "deferred";
  /** The update's resources per operation, when one ran. */
  summary?: Record<string, number>;
}

/** What `tidegate status` shows for one environment: the outcome of its latest run. */
export interface EnvironmentState {
  environment: string;
  branch: string;
  stack: string;
  status: EnvironmentStatus;
  /** Why the status is what it is (the gate that said no, the error). */
  reason?: string;
  headCommit?: string;
  deployedCommit?: string;
  pendingCount: number;
  driftCount: number;
  lastRunId?: string;
  lastRunAt?: string;
  /** ISO 8601. */
  updatedAt: string;
  /** Set while the remote cannot be polled: the status above is the last known one. */
  stale?: Staleness;
}

/** Since when an environment's status could not be refreshed, and why. */
export interface Staleness {
  /** ISO 8601: the first failed poll of this outage. */
  since: string;
  /** ISO 8601: the last poll of the remote that answered, when known. */
  lastPollAt?: string;
  reason: string;
}

export interface ReportSummary {
  runId: string;
  startedAt: string;
  status: EnvironmentStatus;
}
