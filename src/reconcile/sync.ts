import { PulumiError } from "../adapters/pulumi/errors";
import type { Lease } from "../adapters/pulumi/lease";
import type { Store } from "../adapters/store/port";
import type { ChangeSet } from "../domain/changes";
import type { Plan } from "../domain/gates";
import type { RunReport } from "../domain/model";
import { shortDigest } from "../domain/plan";
import { windowState } from "../gates/windows";
import type { Logger } from "../log";
import type { Judgement } from "./judge";
import { planOf } from "./judge";
import { bothEnded, expectedDrift, type Observation } from "./observe";
import type { RunEnvironment } from "./types";
import { shortSha } from "../domain/commit";
import { keptDrift } from "../domain/restorable";

export interface SyncContext {
  store: Pick<Store, "status" | "setStatus">;
  acquireLease(env: RunEnvironment, runId: string): Promise<Lease | undefined>;
  now(): Date;
}

/** What a sync applies: the judged plan of an observation. */
export interface SyncRequest {
  env: RunEnvironment;
  observation: Observation;
  judgement: Extract<Judgement, { kind: "apply" }>;
  runId: string;
  log: Logger;
}

export type SyncOutcome =
  /**
   * `after`: an accept's fresh preview: what the program would still change against the live values.
   * `driftLeft`: after a remediation that an update might not fully restore, the drift still found.
   */
  | { kind: "applied"; sync: NonNullable<RunReport["sync"]>; after?: ChangeSet; driftLeft?: ChangeSet }
  /** Nothing to do after all (another run holds the lease, or deployed the head meanwhile). */
  | { kind: "skipped"; reason: string }
  /** The plan changed after the gates judged it: nothing was applied. */
  | { kind: "blocked"; reason: string }
  | { kind: "failed"; error: unknown };

/**
 * Applies the judged plan under tidegate's lease on the stack. A plan somebody judged (approval,
 * protected operations) is previewed again under the lease, and any difference aborts.
 */
export async function sync(ctx: SyncContext, request: SyncRequest): Promise<SyncOutcome> {
  try {
    return await underLease(ctx, request);
  } catch (error) {
    return { kind: "failed", error };
  }
}

async function underLease(ctx: SyncContext, request: SyncRequest): Promise<SyncOutcome> {
  const { env, observation, judgement, runId, log } = request;
  const { head, stack } = observation;
  const { plan } = judgement;
  const lease = await ctx.acquireLease(env, runId);
  if (!lease) {
    return { kind: "skipped", reason: "another tidegate is syncing this stack; it will be checked again" };
  }
  try {
    // Another engine may have deployed this commit between our preview and our lease.
    const deployed = await stack.deployed();
    if (deployed?.commit === head && !plan.remediate && !plan.resolve) {
      return { kind: "skipped", reason: `commit ${shortSha(head)} was deployed meanwhile by another run` };
    }
    // Somebody judged this plan: the update applies exactly it, or nothing (see verifyPlan).
    const followPlan = judgement.gates.bound && engineHeld(observation, plan);
    if (judgement.gates.bound) {
      const changed = await verifyPlan(request, followPlan, ctx.now());
      if (changed) return changed;
    }
    // The gates judged the window at the preview; an update never starts after it closed.
    const window = judgement.windows.length > 0 ? windowState(judgement.windows, ctx.now()) : undefined;
    if (window && !window.open) {
      return {
        kind: "blocked",
        reason: `the sync window closed after the preview (${window.reason}); nothing was applied — it syncs when the window opens again`,
      };
    }
    const previous = await ctx.store.status(env.name);
    if (previous)
      await ctx.store.setStatus({
        ...previous,
        status: "Progressing",
        reason: `syncing ${shortSha(head)}`,
        updatedAt: ctx.now().toISOString(),
      });
    if (plan.resolve === "accept-drift") return await accept(request);
    log.info({ remediate: plan.remediate, resolve: plan.resolve }, "sync started");
    if (plan.remediate) await takeOverKeptFields(request);
    try {
      const result = await stack.up({
        commit: head,
        refresh: plan.remediate,
        ...(followPlan ? { followPlan: true } : {}),
      });
      log.info({ summary: result.summary }, "sync finished");
      const windows = judgement.windows;
      const closed = windows.length > 0 ? windowState(windows, ctx.now()) : undefined;
      const windowClosedDuringUpdate =
        closed && !closed.open
          ? `the sync window closed while the update ran (${closed.reason}); the update was let finish`
          : undefined;
      if (windowClosedDuringUpdate) log.warn({}, windowClosedDuringUpdate);
      const driftLeft = plan.remediate ? await readBackDrift(request, ctx.now()) : undefined;
      return {
        kind: "applied",
        sync: {
          applied: true,
          summary: result.summary,
          ...(windowClosedDuringUpdate ? { windowClosedDuringUpdate } : {}),
        },
        ...(driftLeft ? { driftLeft } : {}),
      };
    } catch (err) {
      // Say plainly when an update stopped halfway: the state then holds pending operations.
      const leftovers = await stack.pendingOperations().catch(() => []);
      if (leftovers.length > 0 && err instanceof PulumiError) {
        throw new PulumiError(
          err.failure,
          `${err.message}\nThe update stopped halfway: ${leftovers.length} operation(s) are pending on stack ${env.stack}.`,
          { cause: err, ...(err.recovery ? { recovery: err.recovery } : {}) },
        );
      }
      throw err;
    }
  } finally {
    try {
      lease.release();
    } catch (err) {
      // A backend that became read-only keeps the lease until its TTL; the run's outcome stands.
      log.warn({ err: String(err) }, "could not release tidegate's lease on the stack; it expires by itself");
    }
  }
}

/**
 * Whether Pulumi's engine can hold the update to the plan the run's preview saved: a plain update
 * of the head (a refresh first, or an accept, would leave the plan by design).
 */
function engineHeld(observation: Observation, plan: Plan): boolean {
  return observation.previewOptions.savePlan === true && !plan.remediate && !plan.resolve;
}

/**
 * Under the lease, before an update of a judged plan: undefined when it may go on, else why not.
 * When the engine holds the update to the saved plan and the stack's state is still the one the
 * run's previews started from (no update, refresh or import since), the program, its config and
 * the state are those the digest was computed from: the previews would find the same, and the
 * engine refuses any operation the plan lacks. Otherwise both previews run again and the digest
 * must be the approved one. Neither way sees drift that appears after the run's drift preview: the
 * update does not read the live resources (it never did after the re-verification either).
 */
async function verifyPlan(
  request: SyncRequest,
  followPlan: boolean,
  now: Date,
): Promise<Extract<SyncOutcome, { kind: "blocked" }> | undefined> {
  const { env, observation, judgement, log } = request;
  const { stack } = observation;
  const { plan } = judgement;
  if (followPlan && observation.checkpoint !== undefined) {
    const current = await stack.checkpoint({ reread: true });
    if (current === observation.checkpoint) return undefined;
    log.info({}, "the stack's state changed since the preview: previewing the approved plan again");
  }
  // Both only read: side by side, as when the plan was first observed.
  const [previewed, drifted] = await bothEnded(
    stack.preview(observation.previewOptions),
    stack.previewDrift(),
  );
  const accept = plan.resolve === "accept-drift";
  const pending = accept ? undefined : previewed.changes;
  const drift = expectedDrift(env, drifted.changes, now).drift;
  const digest = planOf(env, plan.commit, plan.remediate, pending, drift, plan.resolve).digest;
  if (digest === plan.digest) return undefined;
  return {
    kind: "blocked",
    reason: `the plan changed after it was approved (approved ${shortDigest(plan.digest)}, now ${shortDigest(digest)}); nothing was applied — review and approve the new plan`,
  };
}

/**
 * Whether a remediation left drift, read back rather than assumed, where the plan holds drift an
 * update may leave (notRestorable): whether the provider removes such a field depends on what else
 * its update of the object does. Undefined (the plan's prediction stands) when there is none or
 * the read fails.
 */
async function readBackDrift(request: SyncRequest, now: Date): Promise<ChangeSet | undefined> {
  const { env, observation, judgement, log } = request;
  if (keptDrift(judgement.plan.drift).length === 0) return undefined;
  try {
    return expectedDrift(env, (await observation.stack.previewDrift()).changes, now).drift;
  } catch (err) {
    log.warn({ err: String(err) }, "could not read back the drift after the remediation");
    return undefined;
  }
}

/**
 * Before a remediation: fields kubectl set that the update would leave are taken over for Pulumi's
 * field manager and removed (see adapters/targets/kubernetes-owners). What stays, the read-back says.
 */
async function takeOverKeptFields(request: SyncRequest): Promise<void> {
  const { observation, log } = request;
  const drift = request.judgement.plan.drift;
  if (!drift || keptDrift(drift).length === 0 || !observation.stack.takeOverFields) return;
  const taken = await observation.stack.takeOverFields(drift).catch((err: unknown) => ({
    moved: [],
    warnings: [`the fields kubectl set were not taken over: ${String(err)}`],
  }));
  if (taken.moved.length > 0)
    log.info({ fields: taken.moved }, "removed fields kubectl set that the program does not declare");
  for (const warning of taken.warnings) log.warn({}, warning);
}

/**
 * Takes the live values into the deployed state (a refresh), then previews the program against
 * them: what it would still change is pending, for a person to codify in Git or sync back.
 */
async function accept(request: SyncRequest): Promise<SyncOutcome> {
  const { observation, log } = request;
  const { stack } = observation;
  log.info({}, "accepting drift: refreshing the deployed state from the live resources");
  const summary = await stack.refresh();
  log.info({ summary }, "drift accepted");
  const after = (await stack.preview(observation.previewOptions)).changes;
  return { kind: "applied", sync: { applied: true, summary }, after };
}
