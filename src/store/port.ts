import type { CheckReport, EnvironmentStatus, RunOutcome, RunRecord } from "../model";

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
}

export interface RunFilter {
  environment?: string;
  /** At most this many runs, newest first; all when absent. */
  limit?: number;
}

export type NewRun = Omit<RunRecord, "endedAt" | "outcome">;

export interface ReportSummary {
  runId: string;
  startedAt: string;
  status: EnvironmentStatus;
}

/**
 * Runs, environment statuses and check reports. Lists are newest first (by start time). Several
 * processes may share one store; every method is safe to call from each of them.
 */
export interface Store {
  /** Records a run that has started. Fails with StoreError "conflict" when the id exists. */
  startRun(run: NewRun): void;
  /**
   * Records a run's end. A run marked interrupted may still be finished by the process that owns it
   * (its outcome is the truth); finishing a run twice otherwise fails with StoreError "conflict".
   */
  finishRun(id: string, outcome: RunOutcome, error?: RunRecord["error"]): void;
  runs(filter?: RunFilter): RunRecord[];
  run(id: string): RunRecord | undefined;
  /** Runs whose outcome is "interrupted", newest first. */
  interruptedRuns(): RunRecord[];
  /**
   * At startup: every run with no end is one a crash cut short. Marks each "interrupted" (ended at
   * `now`, with a recovery hint) and returns them.
   */
  markInterrupted(now: string): RunRecord[];
  /** Replaces the environment's state. */
  setStatus(state: EnvironmentState): void;
  /** All environments, by name. */
  statuses(): EnvironmentState[];
  status(environment: string): EnvironmentState | undefined;
  /**
   * Keeps the report; earlier ones stay as history. Saving the same report again does nothing; a
   * different report for the same run fails with StoreError "conflict".
   */
  saveReport(report: CheckReport): void;
  latestReport(environment: string): CheckReport | undefined;
  reports(environment: string, limit: number): ReportSummary[];
  report(runId: string): CheckReport | undefined;
  close(): void;
}
