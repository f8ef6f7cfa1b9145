import { ignoreNote } from "../domain/ignore";
import { errorLine, errorRecord, type ErrorRecord } from "../domain/errors";
import type { RunReport, EnvironmentStatus, RunOutcome } from "../domain/model";
import { observedStatus } from "./classify";
import type { Judgement } from "./judge";
import type { Observation, ObserveResult } from "./observe";
import type { SyncOutcome } from "./sync";
import type { RunEnvironment } from "./types";

/** What the phases of one run returned, up to the phase it ended in. */
export type RunResult =
  | { ended: "observe"; observed: Exclude<ObserveResult, { kind: "observed" }> }
  | { ended: "judge"; observation: Observation; judgement: Exclude<Judgement, { kind: "apply" }> }
  | {
      ended: "sync";
      observation: Observation;
      judgement: Extract<Judgement, { kind: "apply" }>;
      outcome: SyncOutcome;
    };

/** How a run ended: the environment's status and why, and the run's outcome. */
export interface Conclusion {
  status: EnvironmentStatus;
  reason?: string;
  outcome: Extract<RunOutcome, "succeeded" | "failed" | "skipped">;
  failure?: ErrorRecord;
}

export interface ReportMeta {
  runId: string;
  env: Pick<RunEnvironment, "name" | "stack" | "branch">;
  startedAt: string;
  endedAt: string;
  timings: RunReport["timings"];
  versions: RunReport["versions"];
}

export function conclude(run: RunResult): Conclusion {
  switch (run.ended) {
    case "observe":
      return run.observed.kind === "stopped"
        ? { status: run.observed.status, reason: run.observed.reason, outcome: "skipped" }
        : failed(run.observed.error);
    case "judge":
      return run.judgement.kind === "failed"
        ? failed(run.judgement.error)
        : {
            status: run.judgement.status,
            ...(run.judgement.reason ? { reason: run.judgement.reason } : {}),
            outcome: "succeeded",
          };
    case "sync": {
      const { outcome, observation } = run;
      switch (outcome.kind) {
        case "applied":
          return run.judgement.plan.remediate
            ? { status: "Synced", reason: "drift restored and changes applied", outcome: "succeeded" }
            : { status: "Synced", outcome: "succeeded" };
        case "blocked":
          return { status: "Blocked", reason: outcome.reason, outcome: "succeeded" };
        case "skipped":
          return {
            status: observedStatus(observation.pending, observation.drift),
            reason: outcome.reason,
            outcome: "succeeded",
          };
        case "failed":
          return failed(outcome.error);
      }
    }
  }
}

/** A failed run: the run record keeps the error whole, the status and the audit entry its one line. */
function failed(error: unknown): Conclusion {
  const failure = errorRecord(error);
  return { status: "Failed", reason: errorLine(failure), outcome: "failed", failure };
}

/** The head the run found on the branch; undefined when the branch was missing or polling failed. */
export function headOf(run: RunResult): string | undefined {
  return run.ended === "observe" ? run.observed.facts.head : run.observation.head;
}

/** Whether the run applied an update. */
export function applied(run: RunResult): boolean {
  return run.ended === "sync" && run.outcome.kind === "applied";
}

/** The report of a run: a pure function of what its phases returned and how it ended. */
export function buildReport(run: RunResult, conclusion: Conclusion, meta: ReportMeta): RunReport {
  const facts = run.ended === "observe" ? run.observed.facts : run.observation;
  const judgement = run.ended === "observe" ? undefined : run.judgement;
  const plan = judgement?.plan;
  const gates = judgement && judgement.kind !== "failed" ? judgement.gates : undefined;
  const sync: RunReport["sync"] =
    run.ended !== "sync" || run.outcome.kind === "failed"
      ? undefined
      : run.outcome.kind === "applied"
        ? run.outcome.sync
        : { applied: false };
  const { status } = conclusion;
  const ignored = facts.ignoredDrift;
  const note = ignored ? ignoreNote(ignored.properties, ignored.expiredRules) : undefined;
  const reason = [conclusion.reason, note].filter(Boolean).join("; ");
  return {
    schemaVersion: 1,
    runId: meta.runId,
    environment: meta.env.name,
    stack: meta.env.stack,
    branch: meta.env.branch,
    status,
    ...(reason ? { reason } : {}),
    ...(facts.desired ? { desired: facts.desired } : {}),
    deployed: { commit: applied(run) ? facts.head : facts.deployedCommit },
    ...(facts.pending ? { pending: facts.pending } : {}),
    ...(facts.drift ? { drift: facts.drift } : {}),
    ...(facts.ignoredDrift ? { ignoredDrift: facts.ignoredDrift } : {}),
    ...(sync ? { sync } : {}),
    ...(plan ? { plan: { commit: plan.commit, digest: plan.digest, remediate: plan.remediate } } : {}),
    ...(gates
      ? {
          gates: gates.verdicts,
          approvals: gates.approvals.map((a) => ({ approver: a.approver, scope: a.scope, at: a.at })),
          ...(gates.checks.length > 0 ? { checks: gates.checks } : {}),
        }
      : {}),
    ...(facts.policy && facts.policy.length > 0 ? { policy: facts.policy } : {}),
    ...(facts.gatesChange ? { gatesChange: { changes: facts.gatesChange } } : {}),
    ...(facts.dependencies ? { dependencies: facts.dependencies } : {}),
    startedAt: meta.startedAt,
    endedAt: meta.endedAt,
    timings: meta.timings,
    versions: meta.versions,
  };
}
