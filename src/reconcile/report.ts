import { ignoreNote } from "../domain/ignore";
import { keptDrift, keptDriftNote, keptDriftResources } from "../domain/restorable";
import { errorLine, errorRecord, type ErrorRecord } from "../domain/errors";
import type { RunReport, EnvironmentStatus, RunOutcome } from "../domain/model";
import { observedStatus } from "./classify";
import type { Judgement } from "./judge";
import type { EnvironmentObservation, ObserveResult } from "./observe";
import type { SyncOutcome } from "./sync";
import type { ChangeSet } from "../domain/changes";
import type { RunEnvironment, RunStack } from "./types";
import { rollUpStatus } from "../domain/stacks";
import type { StackReport } from "../domain/model";

/**
 * What the phases of one run returned, up to the phase it ended in. With several stacks, `stacks`
 * holds each stack's own result, and the environment's status is rolled up from theirs.
 */
export type RunResult = (
  | { ended: "observe"; observed: Exclude<ObserveResult, { kind: "observed" }> }
  | { ended: "judge"; observation: EnvironmentObservation; judgement: Exclude<Judgement, { kind: "apply" }> }
  | {
      ended: "sync";
      observation: EnvironmentObservation;
      judgement: Extract<Judgement, { kind: "apply" }>;
      outcome: SyncOutcome;
    }
) & { stacks?: StackRun[] };

/** One stack's part of a run of several. */
export interface StackRun {
  stack: RunStack;
  result: RunResult;
  /** Not started: the stack it depends on that failed or was stopped. */
  waitedOn?: string;
  /** Its preview waited for the stacks it depends on to be deployed: why. */
  deferred?: string;
}

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
  // A gate's verdict is the environment's; otherwise each stack's conclusion counts.
  if (run.stacks && run.ended !== "judge") return rolledUp(run.stacks);
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
          if (run.judgement.plan.resolve === "accept-drift") return acceptedConclusion(outcome.after);
          return run.judgement.plan.remediate
            ? remediatedConclusion(
                outcome.driftLeft ?? run.judgement.plan.drift,
                outcome.driftLeft !== undefined,
              )
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

/** The worst of the stacks' conclusions, naming the stack; the first failure is the run's. */
function rolledUp(stacks: readonly StackRun[]): Conclusion {
  const each = stacks.map(({ stack, result }) => ({ name: stack.name, ...conclude(result) }));
  const { status, reason } = rollUpStatus(each);
  const failedStack = each.find((stack) => stack.failure);
  return {
    status,
    ...(reason ? { reason } : {}),
    outcome: failedStack ? "failed" : each.every((s) => s.outcome === "skipped") ? "skipped" : "succeeded",
    ...(failedStack?.failure
      ? {
          failure: {
            ...failedStack.failure,
            message: `stack ${failedStack.name}: ${failedStack.failure.message}`,
          },
        }
      : {}),
  };
}

/**
 * After a remediating update: Synced only when no drift is left. `left` is the drift read back after
 * the update (`readBack`) or, without it, the plan's drift, of which an update leaves what it cannot restore.
 */
function remediatedConclusion(left: ChangeSet | undefined, readBack: boolean): Conclusion {
  const kept = keptDrift(left);
  const remaining = readBack ? (left?.resources.length ?? 0) : kept.length;
  if (remaining === 0)
    return { status: "Synced", reason: "drift restored and changes applied", outcome: "succeeded" };
  const what =
    kept.length > 0
      ? keptDriftNote(kept)
      : `a check after the update still finds drift on ${remaining} resource(s)`;
  return {
    status: "Drifted",
    reason: `drift restored except what an update cannot restore; ${what}`,
    outcome: "succeeded",
  };
}

/** How many resources a remediating run left drifted (see remediatedConclusion). */
export function driftLeftAfterRemediation(run: RunResult): number {
  if (run.ended !== "sync" || run.outcome.kind !== "applied") return 0;
  const left = run.outcome.driftLeft;
  return left ? left.resources.length : keptDriftResources(run.judgement.plan.drift);
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

/** Whether the run applied an update of the head (an accept of drift deploys nothing of it). */
export function applied(run: RunResult): boolean {
  return run.ended === "sync" && run.outcome.kind === "applied" && !accepted(run);
}

/** Whether the run took the live values into the deployed state (tidegate sync --accept-drift). */
export function accepted(run: RunResult): boolean {
  return (
    run.ended === "sync" && run.outcome.kind === "applied" && run.judgement.plan.resolve === "accept-drift"
  );
}

/** After an accept the state is the live world: what the program still changes is pending. */
function acceptedConclusion(after: ChangeSet | undefined): Conclusion {
  const left = after?.resources.length ?? 0;
  if (left === 0)
    return { status: "Synced", reason: "drift accepted into the deployed state", outcome: "succeeded" };
  return {
    status: "OutOfSync",
    reason: `drift accepted into the deployed state; the program still differs from the live values on ${left} resource(s): commit the values shown to keep them, or sync to put the program's back`,
    outcome: "succeeded",
  };
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
    ...(pendingAfter(run, facts.pending) ? { pending: pendingAfter(run, facts.pending) } : {}),
    ...(facts.drift ? { drift: facts.drift } : {}),
    ...(facts.ignoredDrift ? { ignoredDrift: facts.ignoredDrift } : {}),
    ...(sync ? { sync } : {}),
    ...(plan
      ? {
          plan: {
            commit: plan.commit,
            digest: plan.digest,
            remediate: plan.remediate,
            ...(plan.resolve ? { resolve: plan.resolve } : {}),
          },
        }
      : {}),
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
    ...(run.stacks ? { stacks: run.stacks.map(stackReport) } : {}),
    startedAt: meta.startedAt,
    endedAt: meta.endedAt,
    timings: meta.timings,
    versions: meta.versions,
  };
}

/** The pending changes a report shows: after an accept, the fresh preview against the live values. */
function pendingAfter(run: RunResult, observed: ChangeSet | undefined): ChangeSet | undefined {
  return accepted(run) && run.ended === "sync" && run.outcome.kind === "applied"
    ? run.outcome.after
    : observed;
}

/** One stack's line in the report of a run of several. */
function stackReport({ stack, result, waitedOn, deferred }: StackRun): StackReport {
  const { status, reason } = conclude(result);
  const facts = result.ended === "observe" ? result.observed.facts : result.observation;
  const outcome: StackReport["outcome"] =
    waitedOn !== undefined
      ? "skipped"
      : deferred !== undefined && result.ended === "observe"
        ? "deferred"
        : result.ended === "observe"
          ? result.observed.kind === "failed"
            ? "failed"
            : "stopped"
          : result.ended === "judge"
            ? result.judgement.kind === "failed"
              ? "failed"
              : "unchanged"
            : result.outcome.kind === "applied"
              ? "applied"
              : result.outcome.kind === "failed"
                ? "failed"
                : "unchanged";
  const deployedCommit = applied(result) ? facts.head : facts.deployedCommit;
  const summary =
    result.ended === "sync" && result.outcome.kind === "applied" ? result.outcome.sync.summary : undefined;
  return {
    name: stack.name,
    project: stack.project,
    stack: stack.stack,
    status,
    ...(reason ? { reason } : {}),
    ...(deployedCommit ? { deployedCommit } : {}),
    ...(facts.pending ? { pending: facts.pending.resources.length } : {}),
    ...(facts.drift ? { drift: facts.drift.resources.length } : {}),
    outcome,
    ...(summary ? { summary } : {}),
  };
}
