import type { Approval, CheckResult } from "../../domain/gates";
import type { CheckReport, EnvironmentState, RunOutcome, RunRecord, ReportSummary } from "../../domain/model";

export type { EnvironmentState, ReportSummary };

export interface RunFilter {
  environment?: string;
  /** At most this many runs, newest first; all when absent. */
  limit?: number;
}

export type NewRun = Omit<RunRecord, "endedAt" | "outcome">;

export interface ApprovalQuery {
  /** Also list revoked approvals (kept as history); default: active ones only. */
  includeRevoked?: boolean;
}

/** Which active approvals of an environment to revoke, and who revokes them when. */
export interface Revocation {
  by: string;
  /** ISO 8601. */
  at: string;
  /** Only this approver's approvals. */
  approver?: string;
  /** Only the approvals of this plan. */
  planDigest?: string;
  /** Only this approval. */
  id?: string;
}

/**
 * A program tree (the infrastructure code, environment-specific stack config excluded) that was
 * deployed successfully to an environment, or found Synced there at a commit.
 */
export interface NewSuccess {
  environment: string;
  commit: string;
  programTree: string;
  /** ISO 8601. */
  at: string;
}

/** What the promotion gate asks: has this tree succeeded here, since when, and at which commit last. */
export interface ProgramSuccess {
  environment: string;
  /** The commit of the latest success. */
  commit: string;
  programTree: string;
  /** The first time this tree succeeded here (soak time counts from it). */
  firstAt: string;
  /** The latest time it did. */
  lastAt: string;
}

/** Runs: who started what, when, and how it ended. */
export interface RunStore {
  /** Records a run that has started. Fails with StoreError "conflict" when the id exists. */
  startRun(run: NewRun): Promise<void>;
  /**
   * Records a run's end. A run marked interrupted may still be finished by the process that owns it
   * (its outcome is the truth); finishing a run twice otherwise fails with StoreError "conflict".
   */
  finishRun(id: string, outcome: RunOutcome, error?: RunRecord["error"]): Promise<void>;
  runs(filter?: RunFilter): Promise<RunRecord[]>;
  run(id: string): Promise<RunRecord | undefined>;
  /** Runs whose outcome is "interrupted", newest first. */
  interruptedRuns(): Promise<RunRecord[]>;
  /**
   * At startup: every run with no end is one a crash cut short. Marks each "interrupted" (ended at
   * `now`, with a recovery hint) and returns them.
   */
  markInterrupted(now: string): Promise<RunRecord[]>;
}

/** What `tidegate status` shows per environment. */
export interface StatusStore {
  /** Replaces the environment's state. */
  setStatus(state: EnvironmentState): Promise<void>;
  /** All environments, by name. */
  statuses(): Promise<EnvironmentState[]>;
  status(environment: string): Promise<EnvironmentState | undefined>;
}

/** Every run's report, kept as history. */
export interface ReportStore {
  /**
   * Keeps the report; earlier ones stay as history. Saving the same report again does nothing; a
   * different report for the same run fails with StoreError "conflict".
   */
  saveReport(report: CheckReport): Promise<void>;
  latestReport(environment: string): Promise<CheckReport | undefined>;
  reports(environment: string, limit: number): Promise<ReportSummary[]>;
  report(runId: string): Promise<CheckReport | undefined>;
}

/** Approvals bound to plans, and their revocations. */
export interface ApprovalStore {
  /**
   * Records an approval (which must not be revoked yet). Adding the same id again does nothing, and
   * so does a second approval of the same plan (environment, commit, digest) by the same approver
   * in the same scope while the first is active. The same id with different content fails with
   * StoreError "conflict".
   */
  addApproval(approval: Approval): Promise<void>;
  /** The environment's approvals, newest first; only active ones unless asked for revoked ones too. */
  approvals(environment: string, query?: ApprovalQuery): Promise<Approval[]>;
  /**
   * Marks the environment's active approvals that match every given filter revoked and returns
   * them (newest first). Revoked approvals stay, as history.
   */
  revokeApprovals(environment: string, revocation: Revocation): Promise<Approval[]>;
}

/** Where a program tree succeeded: what the promotion gate reads. */
export interface SuccessStore {
  /**
   * Records that a program tree succeeded in an environment. The first time per (environment, tree)
   * is kept, and the latest commit and time.
   */
  recordSuccess(success: NewSuccess): Promise<void>;
  success(environment: string, programTree: string): Promise<ProgramSuccess | undefined>;
}

/** Gate commands' results, cached per commit. */
export interface CommandResultStore {
  /**
   * Caches a check command's result under a key the caller chooses (see checkKey()). A result
   * replaces the one under the same key unless that one is newer (by its `at`).
   */
  saveCheckResult(environment: string, key: string, result: CheckResult): Promise<void>;
  checkResult(environment: string, key: string): Promise<CheckResult | undefined>;
}

/**
 * The state store, split by what it stores. Lists are newest first (by start time). Several
 * processes may share one store; every method is safe to call from each of them.
 */
export interface Store
  extends RunStore, StatusStore, ReportStore, ApprovalStore, SuccessStore, CommandResultStore {
  close(): Promise<void>;
}
