import * as path from "node:path";
import { commandKey } from "../adapters/commands/run";
import { resolveGatesAt } from "../config/resolve";
import type { ResolvedEnvironment } from "../config/resolve";
import { localName, qualifyGates } from "../config/repositories";
import type { Approval, GateCommand, CommandResult, DriftResolution, Gates } from "../domain/gates";
import { type RunReport, type RunKind, WAITS_ON_GATES } from "../domain/model";
import { assertPolicyPackPaths, assertProgramPaths } from "../adapters/pulumi/program-paths";
import { promote, PROMOTION_IDENTITY, type PromoteOptions } from "./promote";
import type { PromoteResult } from "../domain/promotion";
import { runEnvironment, type RunContext, type RunOptions } from "../reconcile/run";
import { approvalProblem } from "../reconcile/gating";
import { stackOpenOptions } from "../reconcile/observe";
import { stackEnvironment } from "../reconcile/stacks";
import { SingleFlight } from "./single-flight";
import {
  EnvironmentHeldError,
  runOwnerId,
  SKIP_IF_HELD,
  WAIT_IF_HELD,
  withEnvironmentLease,
  type LeasePolicy,
} from "./environment-lease";
import type { EnvironmentState, Store } from "../adapters/store/port";
import type { GitPort } from "../adapters/git/port";
import type { Actor } from "./actor";
import type { AuditPort, EngineDeps, RunPorts, StackIdentity } from "./ports";
import { StackChoiceError, UnknownEnvironmentError } from "./errors";
import { recover, type RecoverContext, type RecoverRequest, type RecoverResult } from "./recover";
import { shortSha } from "../domain/commit";
import { errorLine, errorRecord } from "../domain/errors";

export { UnknownEnvironmentError };

/** How many (environment, commit) gate sets gatesAt keeps: a few per environment of a large sweep. */
const GATES_MEMO_SIZE = 2_000;

/**
 * tidegate for one repository: its environments, and one check or sync per stack at a time, with
 * the use cases that act on them (check, drift, sync, plan, approve, revoke, promote), each for an
 * actor the entry point names. It is given its ports (src/compose.ts builds them); nothing here is
 * global, so two engines can share a process.
 */
export class Engine {
  readonly store: Store;
  readonly git: GitPort;
  readonly audit: AuditPort;
  /** One check or sync per stack at a time in this process; schedules share it. */
  readonly flights = new SingleFlight();
  /** For the reads: a run whose owner is gone shows as Interrupted. */
  readonly isOwnerDead: EngineDeps["isOwnerDead"];
  /** gatesAt's answers by environment and commit, oldest first. */
  private readonly gatesMemo = new Map<string, Promise<Gates | undefined>>();
  /** The environments by name, for the list they were made from: a sweep looks up hundreds. */
  private byName: { list: ResolvedEnvironment[]; map: Map<string, ResolvedEnvironment> } | undefined;

  constructor(private readonly deps: EngineDeps) {
    this.store = deps.store;
    this.git = deps.git;
    this.audit = deps.audit;
    this.isOwnerDead = deps.isOwnerDead;
  }

  /**
   * Marks runs a crash or kill cut short (no end recorded) as interrupted. Only the daemon calls
   * this at startup: a CLI command next to a running daemon must not mark the daemon's runs.
   */
  async recoverInterruptedRuns(): Promise<void> {
    const sweep = { now: new Date().toISOString(), isDead: this.deps.isOwnerDead };
    for (const run of await this.store.markInterrupted(sweep)) {
      this.deps.log.warn(
        { env: run.environment, runId: run.id, kind: run.kind },
        "a run was interrupted by a crash or kill; its environment is checked again",
      );
    }
  }

  private now(): Date {
    return this.deps.now();
  }

  get environments(): ResolvedEnvironment[] {
    return this.deps.config.environments;
  }

  environment(name: string): ResolvedEnvironment {
    const list = this.environments;
    if (this.byName?.list !== list) this.byName = { list, map: new Map(list.map((e) => [e.name, e])) };
    const env = this.byName.map.get(name);
    if (!env) {
      const known = this.environments.map((e) => e.name).join(", ");
      throw new UnknownEnvironmentError(`unknown environment '${name}' (known: ${known || "none"})`);
    }
    return env;
  }

  /**
   * Where an environment's definition and branches are: its own repository when tidegate.yaml lists
   * several, else the only one.
   */
  repositoryOf(env: ResolvedEnvironment): { git: GitPort; environmentsDir: string; configRef?: string } {
    const { config, gitFor } = this.deps;
    const source = config.repositories?.find((entry) => entry.name === env.repository);
    if (!source || !gitFor) {
      return { git: this.git, environmentsDir: config.environmentsDir, configRef: config.configRef };
    }
    return { git: gitFor(source.name), environmentsDir: source.environmentsDir, configRef: source.configRef };
  }

  /** The context of one run of environment `name`. */
  private context(name: string, runId?: string): RunContext {
    const { deps } = this;
    const env = this.environment(name);
    const run = deps.forRun(env);
    return {
      git: this.repositoryOf(env).git,
      store: this.store,
      owner: deps.owner,
      log: deps.log,
      workspaceDir: (env) => deps.workspaceDir(env.name),
      installDependencies: (projectDir) => run.installDependencies(projectDir),
      openStack: (env, projectDir, options) => run.openStack(projectDir, { ...options, target: env }),
      acquireLease: (target, runId) =>
        run.acquireLease(
          runId,
          target.current ? { project: target.project, stack: target.stack } : undefined,
        ),
      writeReport: (report) => deps.writeReport(report),
      gatesAt: (env, commit) => this.gatesAt(env.name, commit),
      runCommand: (command, options) => this.runCommandCached(run, command, options),
      preparePolicyPacks: (packs, workDir) => this.preparePolicyPacks(run, packs, workDir),
      audit: (entry) => this.audit.append(entry),
      versions: deps.versions,
      now: () => this.now(),
      newRunId: runId === undefined ? () => deps.newId() : () => runId,
      ...(deps.stackConcurrency ? { stackLimit: deps.stackConcurrency } : {}),
    };
  }

  /**
   * The environment's gates as its definition stood at a commit; undefined when the commit has no
   * (valid) definition, and then only the config ref's gates apply.
   */
  private gatesAt(name: string, commit: string): Promise<Gates | undefined> {
    // A commit's file never changes and this engine's configuration neither: every run of a sweep
    // asks for the same (environment, commit) pairs, and each answer costs a Git read and a parse.
    const key = `${name}\0${commit}`;
    let gates = this.gatesMemo.get(key);
    if (!gates) {
      gates = this.readGatesAt(name, commit);
      gates.catch(() => this.gatesMemo.delete(key));
      if (this.gatesMemo.size >= GATES_MEMO_SIZE)
        this.gatesMemo.delete(this.gatesMemo.keys().next().value ?? "");
      this.gatesMemo.set(key, gates);
    }
    return gates;
  }

  private async readGatesAt(name: string, commit: string): Promise<Gates | undefined> {
    const { log } = this.deps;
    const env = this.environment(name);
    const { git, environmentsDir } = this.repositoryOf(env);
    const file = `${environmentsDir}/${localName(env)}.yaml`;
    const [found] = await git.readFiles(commit, file);
    if (!found) return undefined;
    // Within its repository, environments go by their plain names.
    const resolved = resolveGatesAt(found.file, found.text, {
      environments: this.environments
        .filter((e) => e.repository === env.repository)
        .map((e) => ({ name: localName(e), order: e.order })),
      defaultSyncPolicy: env.sync.policy,
    });
    if ("gates" in resolved) return qualifyGates(resolved.gates, env.repository);
    log.warn(
      {
        env: name,
        commit: shortSha(commit),
        issues: resolved.issues.map((i) => `${i.path}: ${i.message}`),
      },
      "the environment definition at this commit is invalid; only the config ref's gates apply",
    );
    return undefined;
  }

  /** A passing check is not run again for the same commit and command; a failing one is. */
  private async runCommandCached(
    run: RunPorts,
    command: GateCommand,
    options: { environment: string; cwd: string; commit: string },
  ): Promise<CommandResult> {
    const { environment, cwd, commit } = options;
    const key = commandKey(command, commit);
    const cached = await this.store.commandResult(environment, key);
    if (cached && cached.exitCode === 0) return cached;
    const result = await run.runCommand(command, { cwd, commit });
    await this.store.saveCommandResult(environment, key, result);
    return result;
  }

  private async preparePolicyPacks(run: RunPorts, packs: string[], workDir: string): Promise<string[]> {
    const dirs: string[] = [];
    for (const pack of packs) {
      const dir = path.join(workDir, pack);
      assertPolicyPackPaths(workDir, pack);
      await run.installPolicyPack(dir);
      dirs.push(dir);
    }
    return dirs;
  }

  /**
   * One check of one environment; waits for any other operation on its stack in this process to
   * finish first. The whole run (checkout to the record of the deployed commit) holds the
   * environment's lease in the store, so no other process writes its worktree meanwhile; `lease`
   * says whether to wait for another holder or fail with EnvironmentHeldError at once.
   */
  async check(name: string, options: RunOptions, lease: LeasePolicy = WAIT_IF_HELD): Promise<RunReport> {
    const env = this.environment(name);
    const { deps } = this;
    // The run's id is chosen here so that the lease names it to whoever waits.
    const runId = deps.newId();
    const leased = { store: this.store, isDead: deps.isOwnerDead, owner: runOwnerId(deps.owner, runId) };
    const onRenewFailed = (err: unknown) =>
      deps.log.error({ env: name, runId, err }, "could not keep the environment's lease");
    const run = () =>
      withEnvironmentLease(name, lease, { ...leased, onRenewFailed }, () =>
        deps.duringRun(() => runEnvironment(this.context(name, runId), env, options)),
      );
    return this.flights.run(`stack:${env.stack}`, run, { wait: true });
  }

  /** Shows and, once confirmed, clears what an interrupted update left on the stack (src/app/recover.ts). */
  async recover(name: string, request: RecoverRequest): Promise<RecoverResult> {
    const whole = this.environment(name);
    const run = this.deps.forRun(whole);
    // The stack named, as a run of it sees the environment (one stack: the environment itself).
    const env = { ...whole, ...recoveredStack(whole, request.stack) };
    const identity = whole.stacks.length > 1 ? { project: env.project, stack: env.stack } : undefined;
    const ports: RecoverContext = {
      store: this.store,
      git: this.repositoryOf(env).git,
      audit: (entry) => this.audit.append(entry),
      log: this.deps.log,
      workspaceDir: this.deps.workspaceDir(name),
      installDependencies: (projectDir) => run.installDependencies(projectDir),
      openStack: (projectDir) => run.openStack(projectDir, { target: env }),
      hold: (runId, work) => this.hold(env, run, runId, work, identity),
      gatesAt: (commit) => this.gatesAt(name, commit),
      isOwnerDead: this.deps.isOwnerDead,
      check: () => this.observe("check", name, request),
      now: () => this.now(),
      newId: () => this.deps.newId(),
    };
    return recover(ports, env, request);
  }

  /**
   * Runs `work` holding the environment as a sync holds it: this process's flight on its stack,
   * the environment's lease in the store, and the stack's lease beside its backend. Undefined when
   * another process holds either lease: recovery never waits behind a run.
   */
  private hold<T>(
    env: ResolvedEnvironment,
    run: RunPorts,
    runId: string,
    work: () => Promise<T>,
    stack?: StackIdentity,
  ) {
    const { deps } = this;
    const leased = {
      store: this.store,
      isDead: deps.isOwnerDead,
      owner: runOwnerId(deps.owner, runId),
      onRenewFailed: (err: unknown) =>
        deps.log.error({ env: env.name, runId, err }, "could not keep the environment's lease"),
    };
    const stackLeased = async (): Promise<T | undefined> => {
      const lease = await run.acquireLease(runId, stack);
      if (!lease) return undefined;
      try {
        return await work();
      } finally {
        lease.release();
      }
    };
    const held = async (): Promise<T | undefined> => {
      try {
        return await withEnvironmentLease(env.name, SKIP_IF_HELD, leased, stackLeased);
      } catch (err) {
        if (err instanceof EnvironmentHeldError) return undefined;
        throw err;
      }
    };
    return this.flights.run(`stack:${env.stack}`, held, { wait: true });
  }

  /** The plan a sync would apply now, with every gate's verdict; changes nothing. */
  plan(name: string, request: RunRequest): Promise<RunReport> {
    const options: RunOptions = {
      kind: "check",
      trigger: triggerOf(request),
      actor: request.actor.id,
      allowSync: false,
      ...(request.resolve ? { resolve: request.resolve } : {}),
    };
    return this.check(name, options, request.lease);
  }

  /**
   * `check` and `drift` report only; `sync` lets the environment's gates and policy act. For an
   * actor, now (waiting for any other operation on the stack).
   */
  observe(kind: RunKind, name: string, request: RunRequest): Promise<RunReport> {
    const options: RunOptions = {
      kind,
      trigger: triggerOf(request),
      actor: request.actor.id,
      allowSync: kind === "sync",
      ...(kind === "sync" && request.resolve ? { resolve: request.resolve } : {}),
    };
    return this.check(name, options, request.lease);
  }

  /**
   * Approves the plan a sync would apply now: previews it, shows it (the caller prints the report),
   * and records the approval bound to its environment, commit and digest. With `digest`, refuses
   * unless the current plan is the one the approver reviewed.
   */
  async approve(name: string, request: ApproveRequest): Promise<ApproveResult> {
    const report = await this.plan(name, request);
    const actor = request.actor.id;
    const refuse = async (
      reason: string,
      refusal: ApproveRefusal = "not-allowed",
    ): Promise<ApproveResult> => {
      await this.audit.append({
        actor,
        action: "approve",
        environment: name,
        commit: report.desired?.sha,
        ...(report.plan ? { planDigest: report.plan.digest } : {}),
        verdict: "refused",
        reason,
      });
      return { report, refused: reason, refusal };
    };
    const plan = report.plan;
    if (!plan) {
      return refuse(
        report.status === "Synced"
          ? `nothing to approve: ${name} is Synced`
          : `no plan to approve: ${report.reason ?? report.status}`,
        "no-plan",
      );
    }
    if (request.digest !== undefined && !sameDigest(request.digest, plan.digest)) {
      return refuse(
        `the plan changed since it was reviewed: reviewed ${request.digest}, now ${plan.digest}; review it again`,
        "stale",
      );
    }
    const approval: Approval = {
      id: this.deps.newId(),
      environment: name,
      commit: plan.commit,
      planDigest: plan.digest,
      approver: actor,
      ...(request.actor.owner ? { owner: request.actor.owner } : {}),
      scope: request.protected ? "protected" : "sync",
      ...(request.comment ? { comment: request.comment } : {}),
      at: this.now().toISOString(),
    };
    const env = this.environment(name);
    const problem = await approvalProblem(
      this.context(name),
      env,
      approval,
      {
        environment: name,
        stack: env.stack,
        commit: plan.commit,
        digest: plan.digest,
        remediate: plan.remediate,
      },
      report.deployed?.commit,
      report.stacks?.map((stack) => stack.deployedCommit) ?? [],
    );
    if (problem) return refuse(problem);
    // Audited first: an approval the log cannot record is not recorded at all.
    await this.audit.append({
      actor,
      action: "approve",
      environment: name,
      commit: plan.commit,
      planDigest: plan.digest,
      verdict: "approved",
      ...(request.comment ? { reason: request.comment } : {}),
      details: { scope: approval.scope, id: approval.id },
    });
    await this.store.addApproval(approval);
    await this.requestLook(name, `approved by ${actor}`, actor);
    return { report, approval };
  }

  /** Revokes the actor's own approvals of an environment (or one approver's, or all). */
  async revoke(name: string, request: RevokeRequest): Promise<Approval[]> {
    this.environment(name);
    const actor = request.actor.id;
    const revoked = await this.store.revokeApprovals(name, {
      by: actor,
      at: this.now().toISOString(),
      ...(request.all ? {} : { approver: request.approver ?? actor }),
    });
    for (const approval of revoked) {
      await this.audit.append({
        actor,
        action: "revoke",
        environment: name,
        commit: approval.commit,
        planDigest: approval.planDigest,
        verdict: "revoked",
        reason: `approval by ${approval.approver} revoked`,
        details: { id: approval.id, scope: approval.scope },
      });
    }
    if (revoked.length > 0) await this.requestLook(name, `approval revoked by ${actor}`, actor);
    return revoked;
  }

  /** Asks the daemon, in whichever process it runs, to re-judge an environment now. */
  private async requestLook(environment: string, reason: string, actor: string): Promise<void> {
    const at = this.now().toISOString();
    try {
      await this.store.addRequest({ environment, reason, priority: "person", actor, at });
    } catch (err) {
      // What was asked for is recorded; the daemon's next scheduled look sees it, only later.
      this.deps.log.warn({ env: environment, err }, "could not ask the daemon to look now");
    }
  }

  /**
   * The scheduled poll: a cheap look at the branch head (no fetch, no checkout); a full check only
   * when the head moved since the last check, the environment was never checked, its last check
   * failed, or it waits on its gates and they may have changed (an approval or revocation since, or
   * time passing for windows and soak times).
   */
  async poll(
    name: string,
    trigger = "schedule",
    lease?: LeasePolicy,
    /**
     * The branch's head and the environment's status when the caller has just read them (the
     * daemon does): no second ls-remote or status read.
     */
    known?: { head: string | undefined; state: EnvironmentState | undefined },
  ): Promise<RunReport | undefined> {
    const env = this.environment(name);
    const head = known ? known.head : (await this.repositoryOf(env).git.heads([env.branch]))[env.branch];
    const last = known ? known.state : await this.store.status(env.name);
    const unchanged =
      last?.headCommit !== undefined &&
      head === last.headCommit &&
      last.status !== "Failed" &&
      !(WAITS_ON_GATES.has(last.status) && (await this.gatesMayHaveChanged(env.name, last)));
    if (unchanged) return undefined;
    return this.check(name, { kind: "check", trigger, allowSync: true }, lease);
  }

  private async gatesMayHaveChanged(name: string, last: EnvironmentState): Promise<boolean> {
    const since = Date.parse(last.lastRunAt ?? last.updatedAt);
    if (this.now().getTime() - since >= GATE_RECHECK_MS) return true;
    return (await this.store.approvals(name, { includeRevoked: true })).some(
      (a) => Date.parse(a.revokedAt ?? a.at) > since,
    );
  }

  /** Closes the store; the caller stops any schedules first. */
  async close(): Promise<void> {
    await this.store.close();
  }

  /**
   * Merges `from`'s branch into `to`'s and pushes it, never forced (see src/promote/promote.ts); a
   * dry run previews `to`'s stack on the merged tree instead and pushes nothing.
   */
  async promote(from: string, to: string, request: PromotionRequest): Promise<PromoteResult> {
    const options: PromoteOptions = { ...request, actor: request.actor.id };
    let result: PromoteResult;
    try {
      result = await this.promoteUnaudited(from, to, options);
    } catch (err) {
      await this.audit.append({
        actor: options.actor,
        action: "failure",
        environment: to,
        reason: `promotion from ${from} failed: ${errorLine(errorRecord(err))}`,
      });
      throw err;
    }
    await this.audit.append({
      actor: options.actor,
      action: "promote",
      environment: to,
      commit: result.sha ?? result.from.head,
      verdict: result.outcome,
      reason: result.reason,
      details: {
        from,
        to,
        ...(result.kind ? { kind: result.kind } : {}),
        sourceHead: result.from.head,
        targetHead: result.to.head,
        dryRun: result.dryRun,
      },
    });
    return result;
  }

  private promoteUnaudited(from: string, to: string, options: PromoteOptions): Promise<PromoteResult> {
    const check = this.context(to);
    return promote(
      {
        // A promotion between repositories is refused before any Git is touched.
        git: this.repositoryOf(this.environment(to)).git,
        store: this.store,
        log: this.deps.log,
        environment: (name) => this.environment(name),
        scratchDir: () => this.deps.scratchDir(),
        identity: PROMOTION_IDENTITY,
        // The target's stack opened as a check opens it, on the merged tree in the scratch worktree.
        // With several stacks, every one of them: the promotion changes them all.
        preview: async (env, dir) => {
          const target = this.environment(env.name);
          assertProgramPaths(dir, target);
          const changes = [];
          for (const each of target.stacks) {
            const projectDir = path.join(dir, each.project);
            await check.installDependencies(projectDir);
            const stackEnv = target.stacks.length > 1 ? stackEnvironment(target, each) : target;
            const stack = await check.openStack(stackEnv, projectDir, stackOpenOptions(stackEnv, this.now()));
            changes.push((await stack.preview()).changes);
          }
          return { kind: changes[0]!.kind, resources: changes.flatMap((c) => c.resources) };
        },
        now: () => this.now(),
      },
      { ...options, from, to },
    );
  }
}

/** How often an environment waiting on time-based gates (windows, soak) is looked at again. */
const GATE_RECHECK_MS = 5 * 60_000;

/** Who asks for a run, and what started it (recorded with the run; default `<kind>:<actor>`). */
export interface RunRequest {
  actor: Actor;
  trigger?: string;
  /** When another process holds the environment (default: wait up to 10 minutes, silently). */
  lease?: LeasePolicy;
  /** sync, plan and approve: a person's restore or accept of drift instead of a plain sync. */
  resolve?: DriftResolution;
}

function triggerOf(request: RunRequest): string {
  return request.trigger ?? `${request.actor.kind}:${request.actor.id}`;
}

export interface PromotionRequest {
  actor: Actor;
  /** Promote even when the target has program commits the source lacks (they are kept, and listed). */
  allowTargetAhead?: boolean;
  /** Merge in a scratch worktree and preview the target there; push nothing. */
  dryRun?: boolean;
}

export interface ApproveRequest extends RunRequest {
  /** The digest the approver reviewed (`tidegate plan`); the approval is refused if the plan changed. */
  digest?: string;
  /** Also approve the plan's protected operations (deletes, replacements). */
  protected?: boolean;
  comment?: string;
}

export interface ApproveResult {
  /** The fresh check the approval is for: its plan, gates and changes. */
  report: RunReport;
  approval?: Approval;
  /** Why nothing was recorded. */
  refused?: string;
  /** What kind of refusal: the plan changed since it was reviewed, there is none, or a rule said no. */
  refusal?: ApproveRefusal;
}

export type ApproveRefusal = "stale" | "no-plan" | "not-allowed";

export interface RevokeRequest {
  actor: Actor;
  /** Revoke this approver's approvals (default: the actor's own). */
  approver?: string;
  /** Revoke every active approval of the environment. */
  all?: boolean;
}

/** A full digest, or an unambiguous prefix of at least 12 hex digits, with or without "sha256:". */
function sameDigest(given: string, digest: string): boolean {
  const bare = (d: string) =>
    d
      .trim()
      .toLowerCase()
      .replace(/^sha256:/, "");
  const g = bare(given);
  return g.length >= 12 && bare(digest).startsWith(g);
}

/**
 * The project and stack `tidegate recover` opens: the one named, which an environment of several
 * stacks needs; an unknown name or a missing one says which there are.
 */
function recoveredStack(
  env: ResolvedEnvironment,
  name: string | undefined,
): { project: string; stack: string; current?: string } {
  const names = env.stacks.map((stack) => stack.name).join(", ");
  if (name === undefined) {
    if (env.stacks.length > 1) {
      throw new StackChoiceError(
        `${env.name} has several stacks (${names}): name the one to recover with --stack <name>`,
      );
    }
    return { project: env.project, stack: env.stack };
  }
  const stack = env.stacks.find((s) => s.name === name);
  if (!stack) throw new StackChoiceError(`${env.name} has no stack '${name}' (its stacks: ${names})`);
  return env.stacks.length > 1
    ? { project: stack.project, stack: stack.stack, current: stack.name }
    : { project: stack.project, stack: stack.stack };
}
