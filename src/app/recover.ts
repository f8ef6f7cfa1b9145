import { createHash } from "node:crypto";
import * as path from "node:path";
import type { AuditInput } from "../adapters/audit";
import type { GitPort } from "../adapters/git/port";
import type { StackLock } from "../adapters/pulumi/locks";
import type { StackPort } from "../adapters/pulumi/port";
import type { PendingOperation, StackAccess } from "../adapters/pulumi/stack";
import type { Store } from "../adapters/store/port";
import type { ResolvedEnvironment } from "../config/resolve";
import { canonicalJson } from "../domain/canonical-json";
import type { Approval, Gates, ProtectedOperations } from "../domain/gates";
import type { RunRecord, RunReport } from "../domain/model";
import type { IsDead } from "../domain/owner";
import { matchesGlob } from "../gates/protected";
import type { Logger } from "../log";
import type { Actor } from "./actor";
import { interruptedRun } from "./read";

// `tidegate recover <env>`: what an update killed mid-way left on the stack (pending operations,
// Pulumi's lock), shown to a person, and cleared once they confirm: `pulumi cancel`, then a refresh
// that clears pending creates, with the environment's backend, passphrase, plugins and sandbox.
//
// Recovery changes no cloud resource, only the state: a cleared pending create is forgotten (if the
// cloud holds it, it is orphaned; the next sync would create another), a cleared pending delete or
// update is read back by the refresh. So where the environment protects operations on a resource,
// clearing a pending operation on it needs what a protected operation needs: `refuse` means never
// through tidegate (the manual commands are printed instead), `approve` means an approval of scope
// protected bound to exactly these pending operations (`tidegate recover <env> --approve`), by
// someone other than the person who runs it unless the environment allows self-approval.

/** What recovery needs of the outside world; the Engine builds it for one environment. */
export interface RecoverContext {
  store: Pick<Store, "runs" | "markInterrupted" | "approvals" | "addApproval">;
  git: Pick<GitPort, "heads" | "checkout">;
  audit(entry: AuditInput): Promise<unknown>;
  log: Logger;
  /** The environment's checkout (the one its syncs use; recovery holds the environment). */
  workspaceDir: string;
  installDependencies(projectDir: string): Promise<unknown>;
  openStack(projectDir: string): Promise<StackPort>;
  /** Runs `work` holding the environment as a sync holds it; undefined when another holds it. */
  hold<T>(runId: string, work: () => Promise<T>): Promise<T | undefined>;
  /** The environment's gates as defined at a commit (the deployed one's are in force too). */
  gatesAt(commit: string): Promise<Gates | undefined>;
  isOwnerDead: IsDead;
  /** A report-only check, after the hold is released: what the status shows afterwards. */
  check(): Promise<RunReport>;
  now(): Date;
  newId(): string;
}

/** What the protected-operations gates in force say about clearing these pending operations. */
export type RecoveryProtection =
  | { needs: "nothing" }
  | { needs: "approval"; resources: string[]; approvers: string[]; allowSelfApproval: boolean }
  | { needs: "refused"; resources: string[] };

/** What recovery found, shown before anything is done. */
export interface RecoveryPlan {
  environment: string;
  stack: string;
  /** The commit whose program was checked out to reach the stack. */
  commit: string;
  /** The environment's newest run, when its process died before it ended. */
  interrupted?: RunRecord;
  pendingOperations: PendingOperation[];
  /** Pulumi's lock files; undefined where the backend does not show them (cancel is tried anyway). */
  locks?: StackLock[];
  protection: RecoveryProtection;
  /** Binds an approval to exactly these pending operations of this stack. */
  digest: string;
  /** The same recovery by hand: variables to set and `pulumi` commands (no secret values). */
  manual: string[];
}

export type Confirmation = { ok: true } | { ok: false; reason: string };

export interface RecoverRequest {
  actor: Actor;
  /** Record an approval of this recovery (scope protected) instead of running it. */
  approve?: boolean;
  /** With several stacks, the one to recover (its name in the environment definition). */
  stack?: string;
  /** Shown the plan, says whether to go on: the CLI's --yes, a prompt, or a refusal. */
  confirm(plan: RecoveryPlan): Promise<Confirmation>;
}

/** How a recovery ended; `report` is the check run afterwards, which the status shows. */
export type RecoverResult =
  | { outcome: "clean"; plan: RecoveryPlan; report: RunReport }
  | { outcome: "recovered"; plan: RecoveryPlan; summary: Record<string, number>; report: RunReport }
  | Unchecked;

type Unchecked =
  | { outcome: "approved"; plan: RecoveryPlan; approval: Approval }
  | { outcome: "declined" | "refused"; plan?: RecoveryPlan; reason: string };

/** What happens while the environment is held; the check follows once it is released. */
type Held =
  | { outcome: "clean"; plan: RecoveryPlan }
  | { outcome: "recovered"; plan: RecoveryPlan; summary: Record<string, number> }
  | Unchecked;

export async function recover(
  ctx: RecoverContext,
  env: ResolvedEnvironment,
  request: RecoverRequest,
): Promise<RecoverResult> {
  const actor = request.actor.id;
  const audit = (
    step: string,
    verdict: string,
    plan: RecoveryPlan | undefined,
    more: Partial<AuditInput> = {},
  ) =>
    ctx.audit({
      actor,
      action: "recover",
      environment: env.name,
      ...(plan ? { commit: plan.commit, planDigest: plan.digest } : {}),
      verdict,
      ...more,
      details: {
        step,
        ...(plan
          ? {
              pendingOperations: plan.pendingOperations.map((op) => `${op.operation} ${op.urn}`),
              lockHeld: plan.locks === undefined ? "unknown" : plan.locks.length > 0,
              ...(plan.interrupted ? { interruptedRun: plan.interrupted.id } : {}),
            }
          : {}),
        ...more.details,
      },
    });
  const held = await ctx.hold(`recover-${ctx.newId()}`, async (): Promise<Held> => {
    let plan: RecoveryPlan | undefined;
    try {
      const found = await inspect(ctx, env);
      plan = found.plan;
      await audit("inspect", "shown", plan);
      // The dead run is over, whatever follows; the check afterwards becomes the newest run.
      await ctx.store.markInterrupted({ now: ctx.now().toISOString(), isDead: ctx.isOwnerDead });
      const clean = plan.pendingOperations.length === 0 && plan.locks?.length === 0;
      if (clean && !request.approve) return { outcome: "clean", plan };
      const approvalId = request.approve ? "" : await countedApproval(ctx, env, plan, actor);
      const blocked =
        protectionProblem(plan, request) ??
        (approvalId === null
          ? `clearing pending operations on protected resources needs an approval of exactly these operations by another person: tidegate recover ${env.name} --approve`
          : undefined);
      if (blocked) {
        await audit("gate", "refused", plan, { reason: blocked });
        return { outcome: "refused", plan, reason: blocked };
      }
      const answer = await request.confirm(plan);
      if (!answer.ok) {
        await audit("confirm", "declined", plan, { reason: answer.reason });
        return { outcome: "declined", plan, reason: answer.reason };
      }
      if (request.approve) return await recordApproval(ctx, env, plan, request.actor, audit);
      // Pulumi's lock first: the refresh cannot run while it is held.
      if (plan.locks === undefined || plan.locks.length > 0) {
        try {
          await found.stack.cancel();
          await audit("cancel", "released", plan, approvalId ? { details: { approval: approvalId } } : {});
        } catch (err) {
          if (plan.locks !== undefined) throw err;
          // The backend does not show its locks: nothing running is what cancel says then.
          await audit("cancel", "nothing-to-cancel", plan, { reason: message(err) });
        }
      }
      const summary = await found.stack.clearPendingOperations();
      await audit("refresh", "recovered", plan, { details: { summary } });
      return { outcome: "recovered", plan, summary };
    } catch (err) {
      await audit("failure", "failed", plan, { reason: message(err) });
      throw err;
    }
  });
  if (held === undefined) {
    const reason = `another tidegate holds environment '${env.name}' (a sync or check is running); try again when it ends`;
    await audit("hold", "refused", undefined, { reason });
    return { outcome: "refused", reason };
  }
  if (held.outcome === "clean" || held.outcome === "recovered") return { ...held, report: await ctx.check() };
  return held;
}

async function inspect(
  ctx: RecoverContext,
  env: ResolvedEnvironment,
): Promise<{ plan: RecoveryPlan; stack: StackPort }> {
  const interrupted = await interruptedRun({ store: ctx.store, isOwnerDead: ctx.isOwnerDead }, env.name);
  // The program the interrupted run applied; else the branch head (the state names its providers).
  const commit = interrupted?.commit ?? (await ctx.git.heads([env.branch]))[env.branch];
  if (!commit) {
    throw new Error(
      `branch '${env.branch}' of environment '${env.name}' is not on the remote: nothing to open the stack with`,
    );
  }
  await ctx.git.checkout(env.branch, commit, ctx.workspaceDir);
  const projectDir = path.join(ctx.workspaceDir, env.project);
  await ctx.installDependencies(projectDir);
  const stack = await ctx.openStack(projectDir);
  await stack.verifySecrets();
  const pendingOperations = await stack.pendingOperations();
  const locks = await stack.locks();
  const deployed = (await stack.deployed())?.commit;
  const gates = [env.gates, ...(deployed ? [await ctx.gatesAt(deployed)] : [])].filter(
    (g): g is Gates => g !== undefined,
  );
  const access = stack.access();
  const plan: RecoveryPlan = {
    environment: env.name,
    stack: env.stack,
    commit,
    ...(interrupted ? { interrupted } : {}),
    pendingOperations,
    ...(locks === undefined ? {} : { locks }),
    protection: protection(gates, pendingOperations),
    digest: recoveryDigest(env.name, env.stack, pendingOperations),
    manual: manualCommands(access, locks),
  };
  return { plan, stack };
}

/** The strictest of the protected-operations gates in force, for these pending operations. */
export function protection(
  gates: readonly Gates[],
  pending: readonly PendingOperation[],
): RecoveryProtection {
  let result: RecoveryProtection = { needs: "nothing" };
  for (const set of gates) {
    const rule = set.protect;
    if (!rule) continue;
    const resources = pending.filter((op) => protects(rule, op)).map((op) => op.urn);
    if (resources.length === 0) continue;
    if (rule.action === "refuse") return { needs: "refused", resources };
    result = {
      needs: "approval",
      resources,
      approvers: set.approval?.approvers ?? [],
      allowSelfApproval: set.approval?.allowSelfApproval ?? false,
    };
  }
  return result;
}

/** Any pending operation counts: clearing it may forget a resource the rule protects. */
function protects(rule: ProtectedOperations, op: PendingOperation): boolean {
  if (rule.resources.length === 0) return true;
  const name = op.urn.split("::").pop() ?? op.urn;
  return rule.resources.some((pattern) => matchesGlob(pattern, op.type) || matchesGlob(pattern, name));
}

function protectionProblem(plan: RecoveryPlan, request: RecoverRequest): string | undefined {
  const { protection: p } = plan;
  if (p.needs === "refused") {
    return `the environment refuses protected operations on ${p.resources.join(", ")}; tidegate does not clear them. Confirm them in the cloud, then clear them by hand (the commands are shown)`;
  }
  if (request.approve) {
    if (p.needs === "nothing")
      return `nothing to approve: no pending operation of '${plan.environment}' is on a protected resource`;
    if (p.approvers.length > 0 && !p.approvers.includes(request.actor.id)) {
      return `${request.actor.id} may not approve for '${plan.environment}' (approvers: ${p.approvers.join(", ")})`;
    }
  }
  return undefined;
}

/** The approval that lets `actor` clear protected pending operations: its id, "" when none is needed, null when missing. */
async function countedApproval(
  ctx: RecoverContext,
  env: ResolvedEnvironment,
  plan: RecoveryPlan,
  actor: string,
): Promise<string | null> {
  const p = plan.protection;
  if (p.needs !== "approval") return "";
  const approvals = await ctx.store.approvals(env.name);
  const counted = approvals.find(
    (a) =>
      a.scope === "protected" &&
      a.planDigest === plan.digest &&
      (p.approvers.length === 0 || p.approvers.includes(a.approver)) &&
      (p.allowSelfApproval || (a.approver !== actor && a.owner !== actor)),
  );
  return counted ? counted.id : null;
}

async function recordApproval(
  ctx: RecoverContext,
  env: ResolvedEnvironment,
  plan: RecoveryPlan,
  actor: Actor,
  audit: (step: string, verdict: string, plan: RecoveryPlan, more?: Partial<AuditInput>) => Promise<unknown>,
): Promise<Held> {
  const approval: Approval = {
    id: ctx.newId(),
    environment: env.name,
    commit: plan.commit,
    planDigest: plan.digest,
    approver: actor.id,
    scope: "protected",
    comment: "recovery of pending operations",
    at: ctx.now().toISOString(),
  };
  // Audited first: an approval the log cannot record is not recorded at all.
  await audit("approve", "approved", plan, { details: { approval: approval.id } });
  await ctx.store.addApproval(approval);
  return { outcome: "approved", plan, approval };
}

/** Binds an approval to exactly these pending operations of this stack. */
export function recoveryDigest(
  environment: string,
  stack: string,
  pending: readonly PendingOperation[],
): string {
  const operations = [...pending]
    .map((op) => ({ urn: op.urn, type: op.type, operation: op.operation }))
    .sort((a, b) => (a.urn + a.operation < b.urn + b.operation ? -1 : 1));
  const content = canonicalJson({ purpose: "recover", environment, stack, operations });
  return `sha256:${createHash("sha256").update(content).digest("hex")}`;
}

/** The recovery by hand, for a shell: where the passphrase comes from is named, never its value. */
export function manualCommands(access: StackAccess, locks: readonly StackLock[] | undefined): string[] {
  const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
  const stack = `--stack ${quote(access.stackName)}`;
  return [
    `cd ${quote(access.workDir)}`,
    `export PULUMI_BACKEND_URL=${quote(access.backendUrl)}`,
    ...(access.pulumiHome ? [`export PULUMI_HOME=${quote(access.pulumiHome)}`] : []),
    ...(access.passphraseSource
      ? [`export PULUMI_CONFIG_PASSPHRASE=...   # the passphrase from ${access.passphraseSource}`]
      : []),
    ...(access.secretsProvider
      ? [`# secrets provider: ${access.secretsProvider} (its credentials must be set)`]
      : []),
    ...(locks === undefined || locks.length > 0 ? [`${quote(access.pulumi)} cancel ${stack} --yes`] : []),
    `${quote(access.pulumi)} refresh ${stack} --clear-pending-creates --yes`,
  ];
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
