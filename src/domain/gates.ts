import type { ChangeSet } from "./changes";

// The gates an environment declares, resolved (defaults filled in), and what each one says about
// one plan. Every gate is a pure function of facts → verdict; the reconcile loop gathers the facts.

/** A time span in milliseconds, written in config as "90s", "10m", "1h30m" or "2d". */
export type DurationMs = number;

export interface ApprovalGate {
  /** Distinct approvers needed. */
  required: number;
  /** Who may approve (actor identities, e.g. emails); empty: anyone. */
  approvers: string[];
  /** Whether an author of a commit being deployed may approve it. */
  allowSelfApproval: boolean;
}

export interface PromotionGate {
  /** The environment the program must have succeeded in first. */
  from: string;
  /** How long it must have run there (since its first success) before it may come here. */
  soakMs: DurationMs;
  /** Promoting into this environment is refused while `from` shows drift (default: a warning only). */
  requireNoDrift?: boolean;
}

export interface SyncWindow {
  kind: "allow" | "deny";
  /** Cron (five fields): when the window opens. */
  schedule: string;
  /** How long it stays open. */
  durationMs: DurationMs;
  /** IANA time zone the cron is read in, e.g. "Europe/Berlin"; default UTC. */
  timezone: string;
}

export interface GateCommand {
  name: string;
  /** A shell command, run with `sh -c` in the Pulumi project folder of the environment's checkout. */
  run: string;
  timeoutMs: DurationMs;
}

export interface ProtectedOperations {
  /** Which operations are protected. */
  operations: ("delete" | "replace")[];
  /**
   * Which resources: globs over the resource type ("aws:s3/bucket:Bucket", "aws:s3/*") or the
   * resource name ("prod-*"); a pattern matches either. Empty: every resource.
   */
  resources: string[];
  /** refuse: never through tidegate; approve: needs its own approval (`tidegate approve --protected`). */
  action: "refuse" | "approve";
  /** Only resources of these stacks of the environment (an environment of several stacks); absent: all. */
  stacks?: string[];
}

/** The gates of one environment. Absent ones do not apply. */
export interface Gates {
  approval?: ApprovalGate;
  promotion?: PromotionGate;
  windows: SyncWindow[];
  checks: GateCommand[];
  protect?: ProtectedOperations;
  /** Repository-relative folders of Pulumi policy packs run on every preview. */
  policyPacks: string[];
}

export type GateName = "approval" | "promotion" | "window" | "checks" | "protected" | "policy";

/** pass: this gate allows the sync; wait: it will once somebody approves; block: it refuses. */
export type Verdict = "pass" | "wait" | "block";

export interface GateVerdict {
  gate: GateName;
  verdict: Verdict;
  /** One line a person can act on: who is missing, which window, which check failed. */
  reason: string;
}

/** One approval, bound to exactly one plan of one environment. */
export interface Approval {
  id: string;
  environment: string;
  commit: string;
  planDigest: string;
  approver: string;
  /** The person behind the approver when it is an API token: the gates judge the approval as theirs. */
  owner?: string;
  /** "sync": the plan; "protected": also its protected operations. */
  scope: "sync" | "protected";
  comment?: string;
  /** ISO 8601. */
  at: string;
  revokedAt?: string;
  revokedBy?: string;
}

/** What the gates look at: the plan (a preview at one commit) and the environment's context. */
export interface Plan {
  environment: string;
  stack: string;
  commit: string;
  /** See planDigest(): equal exactly when the preview, the drift and the commit are equal. */
  digest: string;
  pending?: ChangeSet;
  drift?: ChangeSet;
  /** The update would also restore drift (drift policy remediate). */
  remediate: boolean;
  /**
   * A person's one-off way out of drift (see DriftResolution): part of the digest, so an approval
   * of a plain sync never covers it, nor the other way round.
   */
  resolve?: DriftResolution;
  /** An environment of several stacks: each stack's own plan (see combinePlans); the digest covers them. */
  stacks?: { name: string; plan: Plan }[];
}

/** restore-drift: a remediating sync, once; accept-drift: a refresh, taking the live values into the state. */
export const DRIFT_RESOLUTIONS = ["restore-drift", "accept-drift"] as const;
export type DriftResolution = (typeof DRIFT_RESOLUTIONS)[number];

/** One check command's outcome, kept in the report. */
export interface CommandResult {
  name: string;
  command: string;
  commit: string;
  /** null: killed (timeout or signal). */
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  /** Combined stdout and stderr, the tail kept when long, secrets redacted. */
  output: string;
  at: string;
}

/** A policy pack's finding on the preview. */
export interface PolicyViolation {
  pack: string;
  policy: string;
  /** "mandatory" blocks; "advisory" is shown only. */
  level: "advisory" | "mandatory";
  urn?: string;
  message: string;
}
