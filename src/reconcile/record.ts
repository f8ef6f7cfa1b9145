import type { AuditInput } from "../adapters/audit";
import type { EnvironmentState, NewSuccess, Store } from "../adapters/store/port";
import { ENGINE_ACTOR } from "../domain/actor";
import { errorKind, isTidegateError, TidegateError } from "../domain/errors";
import type { RunReport } from "../domain/model";
import type { Logger } from "../log";
import type { Judgement } from "./judge";
import type { EnvironmentObservation } from "./observe";
import {
  accepted,
  applied,
  buildReport,
  conclude,
  driftLeftAfterRemediation,
  headOf,
  type Conclusion,
  type RunResult,
} from "./report";
import type { RunEnvironment, RunOptions } from "./types";
import { shortSha } from "../domain/commit";

// The one module that records a run: the gate verdict before anything is applied, and everything
// else once, after the work. A failure while recording is reported as itself (RunNotRecordedError).

export interface RecordContext {
  store: Pick<Store, "setStatus" | "setRunCommit" | "finishRun" | "saveReport" | "recordSuccess">;
  writeReport(report: RunReport): void;
  audit(entry: AuditInput): Promise<unknown>;
  versions: RunReport["versions"];
  now(): Date;
}

/** Who and what a run is about, known before its phases run. */
export interface RunMeta {
  runId: string;
  env: RunEnvironment;
  options: RunOptions;
  startedAt: string;
  timings: RunReport["timings"];
  /** The environment's state before this run: its counts stand until the run observes new ones. */
  previous?: EnvironmentState;
  log: Logger;
}

/** The run's work ended, but the store, the report files or the audit log could not take its record. */
export class RunNotRecordedError extends TidegateError {
  override readonly name = "RunNotRecordedError";

  constructor(
    /** The report the run produced, as it would have been saved. */
    readonly report: RunReport,
    cause: unknown,
  ) {
    const recovery = isTidegateError(cause) ? cause.recovery : undefined;
    super(
      errorKind(cause),
      `run ${report.runId} of ${report.environment} ended ${report.status} but could not be recorded: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause, ...(recovery ? { recovery } : {}) },
    );
  }
}

function auditor(ctx: RecordContext, meta: RunMeta) {
  return (entry: Omit<AuditInput, "actor" | "environment">) =>
    ctx.audit({ actor: meta.options.actor ?? ENGINE_ACTOR, environment: meta.env.name, ...entry });
}

/**
 * Audits the gates' verdict on the plan before any sync, so the decision that let an update run is
 * in the log even if the process dies during the update. Returns the judgement, or a failed one
 * when the verdict could not be audited: then nothing is applied.
 */
export async function recordJudgement(
  ctx: RecordContext,
  meta: RunMeta,
  observation: EnvironmentObservation,
  judgement: Judgement,
): Promise<Judgement> {
  if (judgement.kind === "failed" || !judgement.gates) return judgement;
  const { plan, gates } = judgement;
  try {
    await auditor(
      ctx,
      meta,
    )({
      action: "gate",
      commit: observation.head,
      ...(plan ? { planDigest: plan.digest } : {}),
      verdict: gates.outcome,
      reason: gates.reason || "every gate passes",
      details: { verdicts: gates.verdicts },
    });
    return judgement;
  } catch (error) {
    return { kind: "failed", error, ...(plan ? { plan } : {}) };
  }
}

/**
 * Records a run once: the program tree's success, the environment's status, the run's end, the
 * report (store and files) and the audit entries. Returns the report; throws RunNotRecordedError
 * when any of it could not be written (the other sinks are still written).
 */
export async function recordRun(ctx: RecordContext, meta: RunMeta, run: RunResult): Promise<RunReport> {
  const { env, runId } = meta;
  const head = headOf(run);
  const log = head ? meta.log.child({ commit: shortSha(head) }) : meta.log;
  const conclusion = conclude(run);
  if (conclusion.failure) log.error({ kind: conclusion.failure.kind }, conclusion.failure.message);
  const report = buildReport(run, conclusion, {
    runId,
    env,
    startedAt: meta.startedAt,
    endedAt: ctx.now().toISOString(),
    timings: meta.timings,
    versions: ctx.versions,
  });
  const failures: unknown[] = [];
  const attempt = async (work: () => unknown) => {
    try {
      await work();
    } catch (error) {
      failures.push(error);
    }
  };
  const success = successOf(run, ctx.now().toISOString());
  await attempt(async () => {
    if (success) await ctx.store.recordSuccess({ environment: env.name, ...success });
    await ctx.store.setStatus(environmentState(meta, run, report));
    if (report.desired) await ctx.store.setRunCommit(runId, report.desired.sha);
    await ctx.store.finishRun(runId, conclusion.outcome, conclusion.failure);
    await ctx.store.saveReport(report);
  });
  await attempt(() => ctx.writeReport(report));
  await attempt(async () => {
    for (const entry of auditEntries(meta, run, report, conclusion)) await auditor(ctx, meta)(entry);
  });
  if (failures.length > 0) {
    const error = new RunNotRecordedError(report, failures[0]);
    log.error({ status: report.status }, error.message);
    throw error;
  }
  log.info({ status: report.status, reason: report.reason, timings: meta.timings }, "check finished");
  return report;
}

/** Where the head's program tree succeeded: the fact the next environment's promotion gate reads. */
function successOf(run: RunResult, at: string): Omit<NewSuccess, "environment"> | undefined {
  if (run.ended === "observe") return undefined;
  const { head } = run.observation;
  if (run.ended === "sync" && applied(run))
    return { commit: head, programTree: run.judgement.programTree, at };
  const tree = run.observation.programTree;
  return tree ? { commit: head, programTree: tree, at } : undefined;
}

function environmentState(meta: RunMeta, run: RunResult, report: RunReport): EnvironmentState {
  const { env, previous } = meta;
  // After a sync the report keeps what was applied, while the status counts what is left.
  const synced = applied(run);
  const remediated = (synced && run.ended === "sync" && run.judgement.plan.remediate) || accepted(run);
  return {
    environment: env.name,
    branch: env.branch,
    stack: env.stack,
    status: report.status,
    ...(report.reason ? { reason: report.reason } : {}),
    headCommit: headOf(run),
    deployedCommit: report.deployed?.commit,
    pendingCount: synced ? 0 : (report.pending?.resources.length ?? previous?.pendingCount ?? 0),
    driftCount: remediated
      ? accepted(run)
        ? 0
        : driftLeftAfterRemediation(run)
      : (report.drift?.resources.length ?? previous?.driftCount ?? 0),
    lastRunId: meta.runId,
    lastRunAt: meta.startedAt,
    updatedAt: report.endedAt,
  };
}

function auditEntries(
  meta: RunMeta,
  run: RunResult,
  report: RunReport,
  conclusion: Conclusion,
): Omit<AuditInput, "actor" | "environment">[] {
  const { options } = meta;
  const commit = headOf(run);
  const entries: Omit<AuditInput, "actor" | "environment">[] = [];
  if (report.gatesChange) {
    entries.push({ action: "gates-change", commit, reason: report.gatesChange.changes.join("; ") });
  }
  entries.push({
    action:
      conclusion.outcome === "failed"
        ? "failure"
        : // A plan or approval of a resolution only looks: a check, as for a plain sync's plan.
          ((options.allowSync ? options.resolve : undefined) ?? (report.sync?.applied ? "sync" : "check")),
    commit,
    ...(report.plan ? { planDigest: report.plan.digest } : {}),
    verdict: report.status,
    ...(report.reason ? { reason: report.reason } : {}),
    details: {
      runId: meta.runId,
      kind: options.kind,
      trigger: options.trigger,
      ...(options.resolve ? { resolve: options.resolve } : {}),
      ...(report.sync ? { sync: report.sync } : {}),
    },
  });
  return entries;
}
