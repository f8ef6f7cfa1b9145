import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { AuditLog } from "../adapters/audit";
import { checkKey, runCheck } from "../adapters/commands/run";
import { resolveGatesAt } from "../config/resolve";
import type { ResolvedConfig, ResolvedEnvironment } from "../config/resolve";
import type { Approval, CheckCommand, CheckResult, Gates } from "../domain/gates";
import { SimpleGitAdapter } from "../adapters/git/simple-git";
import type { Logger } from "../log";
import { KnownSecrets, Redactor } from "../log/redact";
import { EnvironmentTarget, installSettings } from "../adapters/targets";
import type { CheckReport } from "../domain/model";
import { ensureDependencies } from "../adapters/pulumi/dependencies";
import { acquireLease, leaseDir } from "../adapters/pulumi/lease";
import { ensurePolicyPackDependencies } from "../adapters/pulumi/policy";
import { assertPolicyPackPaths, assertProgramPaths } from "../adapters/pulumi/program-paths";
import { PulumiStack } from "../adapters/pulumi/stack";
import { StackSandbox } from "../adapters/sandbox";
import { promote, PROMOTION_IDENTITY, type PromoteOptions } from "./promote";
import type { PromoteResult } from "../domain/promotion";
import { checkEnvironment, type CheckContext, type CheckOptions } from "../reconcile/check";
import { approvalProblem } from "../reconcile/gating";
import { writeReportFiles } from "../adapters/reports/files";
import { SingleFlight } from "./single-flight";
import type { EnvironmentState, RequestStore, Store } from "../adapters/store/port";
import { Heartbeat } from "../adapters/store/heartbeat";
import { HEARTBEAT_INTERVAL_MS, ownerDeadness, processOwner } from "../adapters/owner";
import { openSqliteStore } from "../adapters/store/sqlite";
import { dataPaths } from "../config/paths";
import { describePassphraseSource } from "../config/passphrase-source";
import type { PulumiToolchain } from "../adapters/pulumi/toolchain";

export interface EngineOptions {
  config: ResolvedConfig;
  toolchain: PulumiToolchain;
  log: Logger;
  /** The engine-wide secrets passphrase, for environments without a secrets provider of their own. */
  passphrase?: string;
  /** Secret values to mask in every sink; the secrets each run reads are added. Share it with `log`. */
  knownSecrets?: KnownSecrets;
  /** Variables declared for every environment's stacks, e.g. the AWS emulator's endpoint. */
  stackEnv?: Record<string, string>;
  /** Where installed node_modules trees are cached; default `<dataDir>/cache/deps`. */
  dependencyCacheDir?: string;
  versions: CheckReport["versions"];
  /** The clock gates read (sync windows, soak times); tests pass their own. */
  now?: () => Date;
}

/**
 * tidegate for one repository: its environments, their schedules, and one check or sync per stack
 * at a time. Built from configuration; nothing here is global, so two engines can share a process.
 */
export class Engine {
  readonly store: Store;
  readonly git: SimpleGitAdapter;
  readonly audit: AuditLog;
  /** Requests for the daemon ("look at this environment now"), whichever process runs it. */
  /** Where requests to the daemon go (the store, shared with the daemon). */
  readonly requests: RequestStore;
  /** One check or sync per stack at a time in this process; schedules share it. */
  readonly flights = new SingleFlight();
  private readonly paths: ReturnType<typeof dataPaths>;
  private readonly owner = processOwner();
  private readonly heartbeat: Heartbeat;
  private readonly knownSecrets: KnownSecrets;
  private readonly sandbox: StackSandbox;

  constructor(private readonly options: EngineOptions) {
    const { config } = options;
    this.paths = dataPaths(config.dataDir);
    fs.mkdirSync(config.dataDir, { recursive: true });
    this.store = openSqliteStore(this.paths.store);
    this.requests = this.store;
    this.knownSecrets = options.knownSecrets ?? new KnownSecrets();
    if (options.passphrase !== undefined) this.knownSecrets.add(options.passphrase);
    this.heartbeat = new Heartbeat({
      store: this.store,
      owner: this.owner,
      intervalMs: HEARTBEAT_INTERVAL_MS,
      onError: (error) =>
        options.log.warn({ error: String(error) }, "could not record this process's heartbeat"),
    });
    this.audit = new AuditLog(this.paths.audit, {
      redact: (text) => new Redactor({ secrets: this.knownSecrets, stacks: false }).text(text),
      now: () => this.now(),
    });
    this.sandbox = new StackSandbox({
      mode: config.sandbox,
      dir: this.paths.sandbox,
      backendUrl: config.backendUrl,
      toolchain: options.toolchain,
      dependencyCacheDir: options.dependencyCacheDir ?? this.paths.dependencies,
      onUnavailable: (detail) =>
        options.log.warn(
          { detail },
          "no working bubblewrap: stacks run unsandboxed, and environments sharing a file:// backend can read each other's state",
        ),
    });
    this.git = new SimpleGitAdapter({
      url: config.repository.url,
      token: config.repository.token,
      timeouts: config.repository.timeouts,
      mirrorDir: this.paths.mirror,
      log: (entry, message) => options.log.debug(entry, message),
    });
  }

  /**
   * Marks runs a crash or kill cut short (no end recorded, their owner dead) as interrupted; the
   * runs of a live process, such as a CLI command beside the daemon, are left alone.
   */
  async recoverInterruptedRuns(): Promise<void> {
    const sweep = { now: new Date().toISOString(), isDead: ownerDeadness() };
    for (const run of await this.store.markInterrupted(sweep)) {
      this.options.log.warn(
        { env: run.environment, runId: run.id, kind: run.kind },
        "a run was interrupted by a crash or kill; its environment is checked again",
      );
    }
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  get environments(): ResolvedEnvironment[] {
    return this.options.config.environments;
  }

  environment(name: string): ResolvedEnvironment {
    const env = this.environments.find((e) => e.name === name);
    if (!env) {
      const known = this.environments.map((e) => e.name).join(", ");
      throw new UnknownEnvironmentError(`unknown environment '${name}' (known: ${known || "none"})`);
    }
    return env;
  }

  /** The context of one run of environment `name`: its credentials are read once, when first needed. */
  private context(name: string): CheckContext {
    const { config, toolchain, log } = this.options;
    const dependencyCache = this.options.dependencyCacheDir ?? this.paths.dependencies;
    const install = installSettings(this.environment(name));
    let opened: Promise<EnvironmentTarget> | undefined;
    const target = () => (opened ??= this.openTarget(name));
    return {
      git: this.git,
      store: this.store,
      owner: this.owner,
      log,
      workspaceDir: (env) => path.join(this.paths.workspaces, env.name),
      installDependencies: async (projectDir) =>
        ensureDependencies({
          projectDir,
          cacheDir: dependencyCache,
          ...install,
          // npm runs on the host: a sandboxed environment's branch code must not run there.
          scripts: install.scripts && !(await this.sandbox.enabled()),
        }),
      openStack: async (env, projectDir) =>
        PulumiStack.open({
          workDir: projectDir,
          stackName: env.stack,
          toolchain,
          pulumiHome: this.paths.pulumiHome,
          ...(await target()).stackOptions(),
          ...(await this.sandbox.forStack({
            environment: env.name,
            stack: env.stack,
            projectDir,
            backendUrl: (await target()).backendUrl,
            envNames: (await target()).variableNames(),
          })),
        }),
      acquireLease: (env, runId) =>
        acquireLease(
          leaseDir(this.environment(env.name).backendUrl ?? config.backendUrl, config.dataDir),
          env.stack,
          {
            owner: `${this.owner}:${runId}`,
          },
        ),
      writeReport: (report) => void writeReportFiles(this.paths.reports, report),
      gatesAt: (env, commit) => this.gatesAt(env.name, commit),
      runCheck: async (command, options) => this.runCheckCached(command, options, (await target()).readEnv),
      preparePolicyPacks: (packs, workDir) =>
        this.preparePolicyPacks(packs, workDir, { cacheDir: dependencyCache, ...install }),
      audit: (entry) => void this.audit.append(entry),
      versions: this.options.versions,
      now: () => this.now(),
      newRunId: () => randomUUID(),
    };
  }

  private openTarget(name: string): Promise<EnvironmentTarget> {
    const { config, passphrase, stackEnv } = this.options;
    return EnvironmentTarget.open({
      environment: this.environment(name),
      engineBackendUrl: config.backendUrl,
      ...(passphrase === undefined
        ? {}
        : { enginePassphrase: passphrase, enginePassphraseSource: describePassphraseSource(config.secrets) }),
      ...(stackEnv ? { engineEnv: stackEnv } : {}),
      knownSecrets: this.knownSecrets,
    });
  }

  /**
   * The environment's gates as its definition stood at a commit; undefined when the commit has no
   * (valid) definition, and then only the config ref's gates apply.
   */
  private async gatesAt(name: string, commit: string): Promise<Gates | undefined> {
    const { config, log } = this.options;
    const file = `${config.environmentsDir}/${name}.yaml`;
    const [found] = await this.git.readFiles(commit, file);
    if (!found) return undefined;
    const resolved = resolveGatesAt(found.file, found.text, {
      environments: this.environments.map((e) => ({ name: e.name, order: e.order })),
      defaultSyncPolicy: this.environment(name).sync.policy,
    });
    if ("gates" in resolved) return resolved.gates;
    log.warn(
      {
        env: name,
        commit: commit.slice(0, 12),
        issues: resolved.issues.map((i) => `${i.path}: ${i.message}`),
      },
      "the environment definition at this commit is invalid; only the config ref's gates apply",
    );
    return undefined;
  }

  /** A passing check is not run again for the same commit and command; a failing one is. */
  private async runCheckCached(
    command: CheckCommand,
    options: { environment: string; cwd: string; commit: string },
    env: Record<string, string>,
  ): Promise<CheckResult> {
    const { environment, cwd, commit } = options;
    const key = checkKey(command, commit);
    const cached = await this.store.checkResult(environment, key);
    if (cached && cached.exitCode === 0) return cached;
    const result = await runCheck(command, {
      cwd,
      commit,
      env,
      secrets: [...this.knownSecrets],
    });
    await this.store.saveCheckResult(environment, key, result);
    return result;
  }

  private async preparePolicyPacks(
    packs: string[],
    workDir: string,
    install: { cacheDir: string; env: Record<string, string>; scripts: boolean },
  ): Promise<string[]> {
    const dirs: string[] = [];
    for (const pack of packs) {
      const dir = path.join(workDir, pack);
      assertPolicyPackPaths(workDir, pack);
      await ensurePolicyPackDependencies({
        packDir: dir,
        ...install,
        scripts: install.scripts && !(await this.sandbox.enabled()),
      });
      dirs.push(dir);
    }
    return dirs;
  }

  /** One check of one environment; waits for any other operation on its stack to finish first. */
  async check(name: string, options: CheckOptions): Promise<CheckReport> {
    const env = this.environment(name);
    const run = () => this.heartbeat.during(() => checkEnvironment(this.context(name), env, options));
    return this.flights.run(`stack:${env.stack}`, run, { wait: true });
  }

  /** The plan a sync would apply now, with every gate's verdict; changes nothing. */
  plan(name: string, actor: string): Promise<CheckReport> {
    return this.check(name, { kind: "check", trigger: `cli:${actor}`, actor, allowSync: false });
  }

  /**
   * Approves the plan a sync would apply now: previews it, shows it (the caller prints the report),
   * and records the approval bound to its environment, commit and digest. With `digest`, refuses
   * unless the current plan is the one the approver reviewed.
   */
  async approve(name: string, request: ApproveRequest): Promise<ApproveResult> {
    const report = await this.plan(name, request.actor);
    const refuse = (reason: string): ApproveResult => {
      this.audit.append({
        actor: request.actor,
        action: "approve",
        environment: name,
        commit: report.desired?.sha,
        ...(report.plan ? { planDigest: report.plan.digest } : {}),
        verdict: "refused",
        reason,
      });
      return { report, refused: reason };
    };
    const plan = report.plan;
    if (!plan) {
      return refuse(
        report.status === "Synced"
          ? `nothing to approve: ${name} is Synced`
          : `no plan to approve: ${report.reason ?? report.status}`,
      );
    }
    if (request.digest !== undefined && !sameDigest(request.digest, plan.digest)) {
      return refuse(
        `the plan changed since it was reviewed: reviewed ${request.digest}, now ${plan.digest}; review it again`,
      );
    }
    const approval: Approval = {
      id: randomUUID(),
      environment: name,
      commit: plan.commit,
      planDigest: plan.digest,
      approver: request.actor,
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
    );
    if (problem) return refuse(problem);
    // Audited first: an approval the log cannot record is not recorded at all.
    this.audit.append({
      actor: request.actor,
      action: "approve",
      environment: name,
      commit: plan.commit,
      planDigest: plan.digest,
      verdict: "approved",
      ...(request.comment ? { reason: request.comment } : {}),
      details: { scope: approval.scope, id: approval.id },
    });
    await this.store.addApproval(approval);
    await this.requestLook(name, `approved by ${request.actor}`, request.actor);
    return { report, approval };
  }

  /** Revokes the actor's own approvals of an environment (or one approver's, or all). */
  async revoke(name: string, request: RevokeRequest): Promise<Approval[]> {
    this.environment(name);
    const revoked = await this.store.revokeApprovals(name, {
      by: request.actor,
      at: this.now().toISOString(),
      ...(request.all ? {} : { approver: request.approver ?? request.actor }),
    });
    for (const approval of revoked) {
      this.audit.append({
        actor: request.actor,
        action: "revoke",
        environment: name,
        commit: approval.commit,
        planDigest: approval.planDigest,
        verdict: "revoked",
        reason: `approval by ${approval.approver} revoked`,
        details: { id: approval.id, scope: approval.scope },
      });
    }
    if (revoked.length > 0)
      await this.requestLook(name, `approval revoked by ${request.actor}`, request.actor);
    return revoked;
  }

  /** Asks the daemon, in whichever process it runs, to re-judge an environment now. */
  private async requestLook(environment: string, reason: string, actor: string): Promise<void> {
    const at = this.now().toISOString();
    try {
      await this.requests.addRequest({ environment, reason, priority: "person", actor, at });
    } catch (err) {
      // What was asked for is recorded; the daemon's next scheduled look sees it, only later.
      this.options.log.warn({ env: environment, err }, "could not ask the daemon to look now");
    }
  }

  /**
   * The scheduled poll: a cheap look at the branch head (no fetch, no checkout); a full check only
   * when the head moved since the last check, the environment was never checked, its last check
   * failed, or it waits on its gates and they may have changed (an approval or revocation since, or
   * time passing for windows and soak times).
   */
  async poll(name: string, trigger = "schedule"): Promise<CheckReport | undefined> {
    const env = this.environment(name);
    const heads = await this.git.heads([env.branch]);
    const last = await this.store.status(env.name);
    const unchanged =
      last?.headCommit !== undefined &&
      heads[env.branch] === last.headCommit &&
      last.status !== "Failed" &&
      !(await this.gatesMayHaveChanged(env.name, last));
    if (unchanged) return undefined;
    return this.check(name, { kind: "check", trigger, allowSync: true });
  }

  private async gatesMayHaveChanged(name: string, last: EnvironmentState): Promise<boolean> {
    if (last.status !== "AwaitingApproval" && last.status !== "Blocked") return false;
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
  async promote(from: string, to: string, options: PromoteOptions): Promise<PromoteResult> {
    let result: PromoteResult;
    try {
      result = await this.promoteUnaudited(from, to, options);
    } catch (err) {
      this.audit.append({
        actor: options.actor,
        action: "failure",
        environment: to,
        reason: `promotion from ${from} failed: ${err instanceof Error ? err.message : String(err)}`,
      });
      throw err;
    }
    this.audit.append({
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
        git: this.git,
        store: this.store,
        log: this.options.log,
        environment: (name) => this.environment(name),
        scratchDir: () =>
          path.join(this.options.config.dataDir, "scratch", `promote-${randomUUID().slice(0, 8)}`),
        identity: PROMOTION_IDENTITY,
        // The target's stack opened as a check opens it, on the merged tree in the scratch worktree.
        preview: async (env, dir) => {
          const projectDir = path.join(dir, env.project);
          assertProgramPaths(dir, this.environment(env.name));
          await check.installDependencies(projectDir);
          const stack = await check.openStack(this.environment(env.name), projectDir);
          return (await stack.preview()).changes;
        },
        now: () => this.now(),
      },
      { ...options, from, to },
    );
  }
}

/** How often an environment waiting on time-based gates (windows, soak) is looked at again. */
const GATE_RECHECK_MS = 5 * 60_000;

export interface ApproveRequest {
  actor: string;
  /** The digest the approver reviewed (`tidegate plan`); the approval is refused if the plan changed. */
  digest?: string;
  /** Also approve the plan's protected operations (deletes, replacements). */
  protected?: boolean;
  comment?: string;
}

export interface ApproveResult {
  /** The fresh check the approval is for: its plan, gates and changes. */
  report: CheckReport;
  approval?: Approval;
  /** Why nothing was recorded. */
  refused?: string;
}

export interface RevokeRequest {
  actor: string;
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

export class UnknownEnvironmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnknownEnvironmentError";
  }
}
