import * as path from "node:path";
import type { CheckReport, CommitInfo, EnvironmentStatus, RunKind, Timings } from "../model";
import { CommitNotFoundError } from "../git/errors";
import type { Logger } from "../log";
import type { ChangeSet } from "../pulumi/changes";
import type { DependencyResult } from "../pulumi/dependencies";
import { PulumiError } from "../pulumi/errors";
import type { Lease } from "../pulumi/lease";
import type { StackPort } from "../pulumi/port";
import type { EnvironmentState, Store } from "../store/port";
import { decideSync, observedStatus } from "./classify";

/** The part of an environment definition a check needs. */
export interface CheckedEnvironment {
  name: string;
  branch: string;
  stack: string;
  /** Pulumi project folder, relative to the repository root. */
  project: string;
  sync: { policy: "auto" | "gated" };
  drift: { policy: "report" | "remediate" };
}

/** The Git operations a check uses (see src/git/port.ts for the full port). */
export interface CheckGit {
  heads(branches: string[]): Promise<Record<string, string>>;
  checkout(branch: string, sha: string, dir: string): Promise<void>;
  commit(sha: string): Promise<CommitInfo>;
  isAncestor(ancestor: string, descendant: string): Promise<boolean>;
}

export interface CheckContext {
  git: CheckGit;
  store: Store;
  log: Logger;
  workspaceDir(env: CheckedEnvironment): string;
  installDependencies(projectDir: string): Promise<DependencyResult>;
  openStack(env: CheckedEnvironment, projectDir: string): Promise<StackPort>;
  acquireLease(env: CheckedEnvironment, runId: string): Lease | undefined;
  writeReport(report: CheckReport): void;
  versions: CheckReport["versions"];
  now(): Date;
  newRunId(): string;
}

export interface CheckOptions {
  /** "check": poll, pending changes and drift; "drift": drift only; "sync": as check, then sync. */
  kind: RunKind;
  trigger: string;
  /** Let the environment's policy sync (auto) or remediate; false reports only. */
  allowSync: boolean;
}

/** A check stopped on purpose, with the status and reason to show; nothing was changed. */
class Stop extends Error {
  constructor(
    readonly status: EnvironmentStatus,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/**
 * One observation of an environment, and the sync its policy allows:
 * poll → check out → install → deployed state → preview → drift preview → classify → sync → record.
 * It never destroys anything on doubt: a missing branch, rewritten history or an interrupted earlier
 * update stop the environment with a clear status.
 */
export async function checkEnvironment(
  ctx: CheckContext,
  env: CheckedEnvironment,
  options: CheckOptions,
): Promise<CheckReport> {
  const runId = ctx.newRunId();
  const startedAt = ctx.now().toISOString();
  let log = ctx.log.child({ env: env.name, stack: env.stack, runId });
  const timings: Timings = {};
  const timed = async <T>(stage: string, fn: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await fn();
    } finally {
      timings[stage] = Math.round(performance.now() - start);
    }
  };

  const previous = ctx.store.status(env.name);
  let head: string | undefined;
  let desired: CommitInfo | undefined;
  let deployedCommit: string | undefined = previous?.deployedCommit;
  let pending: ChangeSet | undefined;
  let drift: ChangeSet | undefined;
  let sync: CheckReport["sync"];
  let dependencies: CheckReport["dependencies"];
  // After a sync the report keeps what was applied, while the status counts what is left.
  let synced: { remediated: boolean } | undefined;

  ctx.store.startRun({
    id: runId,
    environment: env.name,
    stack: env.stack,
    kind: options.kind,
    trigger: options.trigger,
    startedAt,
  });
  const report = (status: EnvironmentStatus, reason?: string): CheckReport => ({
    schemaVersion: 1,
    runId,
    environment: env.name,
    stack: env.stack,
    branch: env.branch,
    status,
    ...(reason ? { reason } : {}),
    ...(desired ? { desired } : {}),
    deployed: { commit: deployedCommit },
    ...(pending ? { pending } : {}),
    ...(drift ? { drift } : {}),
    ...(sync ? { sync } : {}),
    ...(dependencies ? { dependencies } : {}),
    startedAt,
    endedAt: ctx.now().toISOString(),
    timings,
    versions: ctx.versions,
  });

  try {
    const heads = await timed("poll", () => ctx.git.heads([env.branch]));
    head = heads[env.branch];
    if (!head) {
      throw new Stop(
        "Unknown",
        `branch '${env.branch}' is not on the remote (deleted?); nothing was changed`,
      );
    }
    log = log.child({ commit: head.slice(0, 12) });
    const workDir = ctx.workspaceDir(env);
    await timed("checkout", () => ctx.git.checkout(env.branch, head as string, workDir));
    desired = await ctx.git.commit(head);
    const projectDir = path.join(workDir, env.project);
    const deps = await timed("install", () => ctx.installDependencies(projectDir));
    dependencies = { key: deps.key, installed: deps.installed };
    log.debug(dependencies, "dependencies ready");
    const stack = await timed("stack", () => ctx.openStack(env, projectDir));

    const interrupted = await stack.pendingOperations();
    if (interrupted.length > 0) {
      const list = interrupted.map((op) => `${op.operation} ${op.urn}`).join(", ");
      throw new Stop(
        "Failed",
        `an interrupted update left ${interrupted.length} pending operation(s) (${list}); confirm them in the cloud, then run \`pulumi refresh\` on stack ${env.stack}`,
      );
    }
    const deployed = await timed("deployed", () => stack.deployed());
    deployedCommit = deployed?.commit;
    if (deployedCommit && deployedCommit !== head && !(await isAncestorSafe(ctx.git, deployedCommit, head))) {
      throw new Stop(
        "Blocked",
        `history rewritten: ${head.slice(0, 12)} on '${env.branch}' does not descend from the deployed ${deployedCommit.slice(0, 12)}; nothing was changed. Restore the branch, or deploy the new history deliberately.`,
      );
    }

    if (options.kind !== "drift") pending = (await timed("preview", () => stack.preview())).changes;
    drift = (await timed("drift", () => stack.previewDrift())).changes;
    log.info({ pending: pending?.resources.length ?? 0, drift: drift.resources.length }, "observed");

    const decision = options.allowSync
      ? decideSync({ sync: env.sync.policy, drift: env.drift.policy }, pending, drift)
      : { sync: false, remediate: false };
    if (!decision.sync) {
      return finish(observedStatus(pending, drift), decision.reason);
    }
    const outcome = await timed("sync", () =>
      syncUnderLease(ctx, env, stack, head as string, runId, decision.remediate, log),
    );
    sync = outcome.sync;
    if (outcome.skippedReason) return finish(observedStatus(pending, drift), outcome.skippedReason);
    deployedCommit = head;
    synced = { remediated: decision.remediate };
    return finish("Synced", decision.remediate ? "drift restored and changes applied" : undefined);
  } catch (err) {
    if (err instanceof Stop) return finish(err.status, err.reason, "skipped");
    const failure = describeFailure(err);
    log.error({ kind: failure.kind }, failure.message);
    return finish(
      "Failed",
      `${failure.message}${failure.recovery ? ` — ${failure.recovery}` : ""}`,
      "failed",
      failure,
    );
  }

  function finish(
    status: EnvironmentStatus,
    reason?: string,
    outcome: "succeeded" | "failed" | "skipped" = "succeeded",
    error?: { kind: string; message: string; recovery?: string },
  ): CheckReport {
    const result = report(status, reason);
    const state: EnvironmentState = {
      environment: env.name,
      branch: env.branch,
      stack: env.stack,
      status,
      ...(reason ? { reason } : {}),
      headCommit: head,
      deployedCommit,
      pendingCount: synced ? 0 : (result.pending?.resources.length ?? previous?.pendingCount ?? 0),
      driftCount: synced?.remediated ? 0 : (result.drift?.resources.length ?? previous?.driftCount ?? 0),
      lastRunId: runId,
      lastRunAt: startedAt,
      updatedAt: result.endedAt,
    };
    ctx.store.setStatus(state);
    ctx.store.finishRun(runId, outcome, error);
    ctx.store.saveReport(result);
    ctx.writeReport(result);
    log.info({ status, reason, timings }, "check finished");
    return result;
  }
}

async function isAncestorSafe(git: CheckGit, ancestor: string, descendant: string): Promise<boolean> {
  try {
    return await git.isAncestor(ancestor, descendant);
  } catch (err) {
    // The deployed commit is unknown to the repository: it cannot be shown to precede the head.
    if (err instanceof CommitNotFoundError) return false;
    throw err;
  }
}

interface SyncOutcome {
  sync: NonNullable<CheckReport["sync"]>;
  skippedReason?: string;
}

async function syncUnderLease(
  ctx: CheckContext,
  env: CheckedEnvironment,
  stack: StackPort,
  head: string,
  runId: string,
  remediate: boolean,
  log: Logger,
): Promise<SyncOutcome> {
  const lease = ctx.acquireLease(env, runId);
  if (!lease) {
    return {
      sync: { applied: false },
      skippedReason: "another tidegate is syncing this stack; it will be checked again",
    };
  }
  try {
    // Another engine may have deployed this commit between our preview and our lease.
    const deployed = await stack.deployed();
    if (deployed?.commit === head && !remediate) {
      return {
        sync: { applied: false },
        skippedReason: `commit ${head.slice(0, 12)} was deployed meanwhile by another run`,
      };
    }
    const previous = ctx.store.status(env.name);
    if (previous)
      ctx.store.setStatus({
        ...previous,
        status: "Progressing",
        reason: `syncing ${head.slice(0, 12)}`,
        updatedAt: ctx.now().toISOString(),
      });
    log.info({ remediate }, "sync started");
    try {
      const result = await stack.up({ commit: head, refresh: remediate });
      log.info({ summary: result.summary }, "sync finished");
      return { sync: { applied: true, summary: result.summary } };
    } catch (err) {
      // Say plainly when an update stopped halfway: the state then holds pending operations.
      const leftovers = await stack.pendingOperations().catch(() => []);
      if (leftovers.length > 0 && err instanceof PulumiError) {
        throw new PulumiError(
          err.kind,
          `${err.message}\nThe update stopped halfway: ${leftovers.length} operation(s) are pending on stack ${env.stack}.`,
          { cause: err },
        );
      }
      throw err;
    }
  } finally {
    lease.release();
  }
}

function describeFailure(err: unknown): { kind: string; message: string; recovery?: string } {
  if (err instanceof PulumiError)
    return { kind: `pulumi:${err.kind}`, message: err.message, recovery: err.recovery };
  if (err instanceof Error) return { kind: err.name, message: err.message };
  return { kind: "unknown", message: String(err) };
}
