import type { GatingContext } from "./gating";
import type { RunReport } from "../domain/model";
import type { Store } from "../adapters/store/port";
import type { Logger } from "../log";
import { judge, type JudgeContext } from "./judge";
import { observe, type RunGit, type ObserveContext } from "./observe";
import { recordJudgement, recordRun, type RecordContext, type RunMeta } from "./record";
import type { RunResult } from "./report";
import { runStacks } from "./stacks";
import { sync, type SyncContext } from "./sync";
import { stageTimer, type RunEnvironment, type RunOptions, type Timed } from "./types";
import { shortSha } from "../domain/commit";
import { inSpan, RUN_SPAN } from "./trace";

export type { RunGit } from "./observe";
export { RunNotRecordedError } from "./record";
export type { RunEnvironment, RunOptions } from "./types";

/** Everything one run needs: each phase's context, and the run's own identity and clock. */
export interface RunContext extends ObserveContext, JudgeContext, SyncContext, RecordContext {
  git: RunGit & GatingContext["git"];
  store: Store;
  /** This process, as the owner of the runs it records (see adapters/owner). */
  owner: string;
  log: Logger;
  now(): Date;
  newRunId(): string;
  /** Stacks of an environment of several previewed or updated at once (daemon.stackConcurrency). */
  stackLimit?: number;
}

/**
 * One run of one environment: observe → judge → sync → record, each phase a value. It never
 * destroys anything on doubt: a missing branch, rewritten history or an interrupted earlier update
 * stop the environment with a clear status. Throws RunNotRecordedError when the run cannot be recorded.
 */
export async function runEnvironment(
  ctx: RunContext,
  env: RunEnvironment,
  options: RunOptions,
): Promise<RunReport> {
  const runId = ctx.newRunId();
  const attributes = {
    "tidegate.environment": env.name,
    "tidegate.stack": env.stack,
    "tidegate.mode": options.kind,
    "tidegate.trigger": options.trigger,
    "tidegate.run_id": runId,
  };
  return inSpan(RUN_SPAN, attributes, async (span) => {
    const report = await runTraced(ctx, env, options, runId);
    span.setAttribute("tidegate.status", report.status);
    return report;
  });
}

async function runTraced(
  ctx: RunContext,
  env: RunEnvironment,
  options: RunOptions,
  runId: string,
): Promise<RunReport> {
  const startedAt = ctx.now().toISOString();
  const { timings, timed } = stageTimer();
  const log = ctx.log.child({ env: env.name, stack: env.stack, runId });
  const previous = await ctx.store.status(env.name);
  const meta: RunMeta = { runId, env, options, startedAt, timings, log, ...(previous ? { previous } : {}) };
  await ctx.store.startRun({
    id: runId,
    environment: env.name,
    stack: env.stack,
    kind: options.kind,
    trigger: options.trigger,
    mode: options.allowSync ? "reconcile" : "report",
    owner: ctx.owner,
    startedAt,
  });
  return recordRun(ctx, meta, await work(ctx, meta, timed));
}

/** The phases, each returning a value; nothing here records the run. */
async function work(ctx: RunContext, meta: RunMeta, timed: Timed): Promise<RunResult> {
  const { env, options } = meta;
  if ((env.stacks?.length ?? 1) > 1) return runStacks(ctx, meta, timed);
  const observed = await observe(ctx, env, {
    kind: options.kind,
    ...(options.allowSync ? { savePlan: true } : {}),
    ...(meta.previous?.deployedCommit ? { deployedBefore: meta.previous.deployedCommit } : {}),
    log: meta.log,
    timed,
  });
  if (observed.kind !== "observed") return { ended: "observe", observed };
  const { observation } = observed;
  const judged = await judge(ctx, env, observation, {
    allowSync: options.allowSync,
    ...(options.resolve ? { resolve: options.resolve } : {}),
    timed,
  });
  const judgement = await recordJudgement(ctx, meta, observation, judged);
  if (judgement.kind !== "apply") return { ended: "judge", observation, judgement };
  const log = meta.log.child({ commit: shortSha(observation.head) });
  // Written before the update starts, so that a run cut short mid-update still names its commit.
  await ctx.store.setRunCommit(meta.runId, observation.head);
  const outcome = await timed("sync", () =>
    sync(ctx, { env, observation, judgement, runId: meta.runId, log }),
  );
  return { ended: "sync", observation, judgement, outcome };
}
