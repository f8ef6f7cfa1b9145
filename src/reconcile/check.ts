import * as path from "node:path";
import type { CheckReport, CommitInfo, EnvironmentStatus, RunKind, Timings } from "../domain/model";
import { CommitNotFoundError } from "../adapters/git/errors";
import type { Logger } from "../log";
import type { AuditInput } from "../adapters/audit";
import type { Gates, PolicyViolation } from "../domain/gates";
import { ENGINE_ACTOR } from "../domain/actor";
import { windowState } from "../gates/windows";
import type { ChangeSet } from "../domain/changes";
import type { DependencyResult } from "../adapters/pulumi/dependencies";
import { PulumiError } from "../adapters/pulumi/errors";
import type { Lease } from "../adapters/pulumi/lease";
import { assertProgramPaths } from "../adapters/pulumi/program-paths";
import type { StackPort } from "../adapters/pulumi/port";
import type { EnvironmentState, Store } from "../adapters/store/port";
import { decideSync, observedStatus } from "./classify";
import { evaluatePlan, gatesInForce, programTree, type GateEvaluation, type GatingContext } from "./gating";
import { makePlan, shortDigest } from "../domain/plan";

/** The part of an environment definition a check needs. */
export interface CheckedEnvironment {
  name: string;
  branch: string;
  stack: string;
  /** Pulumi project folder, relative to the repository root. */
  project: string;
  sync: { policy: "auto" | "gated" };
  drift: { policy: "report" | "remediate" };
  /** The gates of the definition at the config ref; see gatesInForce for the ones that apply. */
  gates: Gates;
}

/** The Git operations a check uses (see src/git/port.ts for the full port). */
export interface CheckGit {
  heads(branches: string[]): Promise<Record<string, string>>;
  checkout(branch: string, sha: string, dir: string): Promise<void>;
  commit(sha: string): Promise<CommitInfo>;
  isAncestor(ancestor: string, descendant: string): Promise<boolean>;
}

export interface CheckContext extends GatingContext {
  git: CheckGit & GatingContext["git"];
  store: Store;
  /** This process, as the owner of the runs it records (see adapters/owner). */
  owner: string;
  log: Logger;
  workspaceDir(env: CheckedEnvironment): string;
  installDependencies(projectDir: string): Promise<DependencyResult>;
  openStack(env: CheckedEnvironment, projectDir: string): Promise<StackPort>;
  acquireLease(env: CheckedEnvironment, runId: string): Lease | undefined;
  writeReport(report: CheckReport): void;
  /** Policy pack folders (repository-relative, in the checkout at `workDir`) → absolute, dependencies installed. */
  preparePolicyPacks(packs: string[], workDir: string): Promise<string[]>;
  audit(entry: AuditInput): void;
  versions: CheckReport["versions"];
  now(): Date;
  newRunId(): string;
}

export interface CheckOptions {
  /** "check": poll, pending changes and drift; "drift": drift only; "sync": as check, then sync. */
  kind: RunKind;
  trigger: string;
  /** Who asked, for the audit log: the person for a CLI command; default the engine itself. */
  actor?: string;
  /** Let the environment's gates and policy sync or remediate; false reports only. */
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

  const previous = await ctx.store.status(env.name);
  let head: string | undefined;
  let desired: CommitInfo | undefined;
  let deployedCommit: string | undefined = previous?.deployedCommit;
  let pending: ChangeSet | undefined;
  let drift: ChangeSet | undefined;
  let sync: CheckReport["sync"];
  let dependencies: CheckReport["dependencies"];
  // After a sync the report keeps what was applied, while the status counts what is left.
  let synced: { remediated: boolean } | undefined;
  let gatesChange: CheckReport["gatesChange"];
  let policy: PolicyViolation[] | undefined;
  let planInfo: CheckReport["plan"];
  let gateResult: GateEvaluation | undefined;
  // The head's program tree, read once per check: the gates judge it and successes record it.
  let headTree: Promise<string> | undefined;
  const programTreeOfHead = () => (headTree ??= programTree(ctx.git, env, head as string));
  // Where this program tree succeeded: the fact the next environment's promotion gate reads.
  const recordSuccess = async () =>
    ctx.store.recordSuccess({
      environment: env.name,
      commit: head as string,
      programTree: await programTreeOfHead(),
      at: ctx.now().toISOString(),
    });
  const audit = (entry: Omit<AuditInput, "actor" | "environment">) =>
    ctx.audit({ actor: options.actor ?? ENGINE_ACTOR, environment: env.name, ...entry });

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
    ...(planInfo ? { plan: planInfo } : {}),
    ...(gateResult
      ? {
          gates: gateResult.verdicts,
          approvals: gateResult.approvals.map((a) => ({ approver: a.approver, scope: a.scope, at: a.at })),
          ...(gateResult.checks.length > 0 ? { checks: gateResult.checks } : {}),
        }
      : {}),
    ...(policy && policy.length > 0 ? { policy } : {}),
    ...(gatesChange ? { gatesChange } : {}),
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
    await ctx.store.setRunCommit(runId, head);
    const workDir = ctx.workspaceDir(env);
    await timed("checkout", () => ctx.git.checkout(env.branch, head as string, workDir));
    desired = await ctx.git.commit(head);
    // Before anything is installed or run: nothing may lead outside the folders the digest covers.
    assertProgramPaths(workDir, env);
    const projectDir = path.join(workDir, env.project);
    const deps = await timed("install", () => ctx.installDependencies(projectDir));
    dependencies = { key: deps.key, installed: deps.installed };
    log.debug(dependencies, "dependencies ready");
    const stack = await timed("stack", () => ctx.openStack(env, projectDir));
    await timed("secrets", () => stack.verifySecrets());

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

    const inForce = await timed("gates", () => gatesInForce(ctx, env, deployedCommit, head as string));
    if (inForce.change.length > 0) {
      gatesChange = { changes: inForce.change };
      log.warn({ changes: inForce.change }, "this commit changes the environment's gates");
    }
    const packs = [...new Set(inForce.sets.flatMap((g) => g.policyPacks))];
    const packDirs =
      packs.length > 0 ? await timed("policy", () => ctx.preparePolicyPacks(packs, workDir)) : [];
    const previewOptions = packDirs.length > 0 ? { policyPacks: packDirs } : {};
    const previewPending = async () => {
      const result = await timed("preview", () => stack.preview(previewOptions));
      pending = result.changes;
      policy = result.policy ?? [];
    };
    if (options.kind !== "drift") await previewPending();
    drift = (await timed("drift", () => stack.previewDrift())).changes;
    // A remediation is an update of the head too: its pending changes belong in the plan.
    if (options.kind === "drift" && env.drift.policy === "remediate" && drift.resources.length > 0) {
      await previewPending();
    }
    log.info({ pending: pending?.resources.length ?? 0, drift: drift.resources.length }, "observed");

    // Nothing pending: the deployed state is what this commit's program makes (a commit that changes
    // nothing is never "deployed" by an update), so its program tree has succeeded here.
    if (pending && pending.resources.length === 0) await recordSuccess();

    const decision = decideSync({ drift: env.drift.policy }, pending, drift);
    if (!decision.sync) return finish(observedStatus(pending, drift), decision.reason);

    // What an update of the head would do, as the gates judge it and approvals bind to it.
    const planOf = (pendingNow: ChangeSet | undefined, driftNow: ChangeSet) =>
      makePlan({
        environment: env.name,
        stack: env.stack,
        commit: head as string,
        ...(pendingNow ? { pending: pendingNow } : {}),
        drift: driftNow,
        remediate: decision.remediate,
      });
    const plan = planOf(pending, drift);
    planInfo = { commit: plan.commit, digest: plan.digest, remediate: plan.remediate };
    const tree = await programTreeOfHead();
    const evaluation = await timed("judge", () =>
      evaluatePlan(ctx, env, inForce, {
        plan,
        deployed: deployedCommit,
        projectDir,
        programTree: tree,
        policy: policy ?? [],
      }),
    );
    gateResult = evaluation;
    audit({
      action: "gate",
      commit: head,
      planDigest: plan.digest,
      verdict: evaluation.outcome,
      reason: evaluation.reason || "every gate passes",
      details: { verdicts: evaluation.verdicts },
    });
    if (evaluation.outcome === "block") return finish("Blocked", evaluation.reason);
    if (evaluation.outcome === "wait") return finish("AwaitingApproval", evaluation.reason);
    if (!options.allowSync) {
      return finish(observedStatus(pending, drift), "every gate passes; a sync would apply this plan");
    }

    const windows = inForce.sets.flatMap((g) => g.windows);
    const outcome = await timed("sync", () =>
      syncUnderLease(
        ctx,
        env,
        stack,
        { plan: plan.digest, bound: evaluation.bound, windows },
        {
          head: head as string,
          runId,
          remediate: decision.remediate,
          log,
          reverify: async () => {
            const again = (await stack.preview(previewOptions)).changes;
            return planOf(again, (await stack.previewDrift()).changes).digest;
          },
        },
      ),
    );
    sync = outcome.sync;
    if (outcome.blockedReason) return finish("Blocked", outcome.blockedReason);
    if (outcome.skippedReason) return finish(observedStatus(pending, drift), outcome.skippedReason);
    deployedCommit = head;
    synced = { remediated: decision.remediate };
    await recordSuccess();
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

  async function finish(
    status: EnvironmentStatus,
    reason?: string,
    outcome: "succeeded" | "failed" | "skipped" = "succeeded",
    error?: { kind: string; message: string; recovery?: string },
  ): Promise<CheckReport> {
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
    await ctx.store.setStatus(state);
    await ctx.store.finishRun(runId, outcome, error);
    await ctx.store.saveReport(result);
    ctx.writeReport(result);
    if (gatesChange) {
      audit({ action: "gates-change", commit: head, reason: gatesChange.changes.join("; ") });
    }
    audit({
      action: outcome === "failed" ? "failure" : sync?.applied ? "sync" : "check",
      commit: head,
      ...(planInfo ? { planDigest: planInfo.digest } : {}),
      verdict: status,
      ...(reason ? { reason } : {}),
      details: { runId, kind: options.kind, trigger: options.trigger, ...(sync ? { sync } : {}) },
    });
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
  /** The plan changed after the gates judged it: nothing was applied. */
  blockedReason?: string;
}

interface SyncRequest {
  head: string;
  runId: string;
  remediate: boolean;
  log: Logger;
  /** A fresh preview's plan digest, to compare with the one the gates judged. */
  reverify(): Promise<string>;
}

async function syncUnderLease(
  ctx: CheckContext,
  env: CheckedEnvironment,
  stack: StackPort,
  judged: { plan: string; bound: boolean; windows: Gates["windows"] },
  request: SyncRequest,
): Promise<SyncOutcome> {
  const { head, runId, remediate, log } = request;
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
    if (judged.bound) {
      // Apply exactly what was approved: preview again under the lease; any difference aborts.
      const digest = await request.reverify();
      if (digest !== judged.plan) {
        return {
          sync: { applied: false },
          blockedReason: `the plan changed after it was approved (approved ${shortDigest(judged.plan)}, now ${shortDigest(digest)}); nothing was applied — review and approve the new plan`,
        };
      }
    }
    const previous = await ctx.store.status(env.name);
    if (previous)
      await ctx.store.setStatus({
        ...previous,
        status: "Progressing",
        reason: `syncing ${head.slice(0, 12)}`,
        updatedAt: ctx.now().toISOString(),
      });
    log.info({ remediate }, "sync started");
    try {
      const result = await stack.up({ commit: head, refresh: remediate });
      log.info({ summary: result.summary }, "sync finished");
      const closed = judged.windows.length > 0 ? windowState(judged.windows, ctx.now()) : undefined;
      const windowClosedDuringUpdate =
        closed && !closed.open
          ? `the sync window closed while the update ran (${closed.reason}); the update was let finish`
          : undefined;
      if (windowClosedDuringUpdate) log.warn({}, windowClosedDuringUpdate);
      return {
        sync: {
          applied: true,
          summary: result.summary,
          ...(windowClosedDuringUpdate ? { windowClosedDuringUpdate } : {}),
        },
      };
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
