import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ResolvedConfig, ResolvedEnvironment } from "./config/resolve";
import { SimpleGitAdapter } from "./git/simple-git";
import type { Logger } from "./log";
import type { CheckReport } from "./model";
import { ensureDependencies } from "./pulumi/dependencies";
import { acquireLease, leaseDir } from "./pulumi/lease";
import { PulumiStack } from "./pulumi/stack";
import { checkEnvironment, type CheckContext, type CheckOptions } from "./reconcile/check";
import { writeReportFiles } from "./report/files";
import { Scheduler, SingleFlight } from "./schedule";
import type { Store } from "./store/port";
import { openSqliteStore } from "./store/sqlite";
import { dataPaths } from "./paths";
import type { PulumiToolchain } from "./toolchain/pulumi";

export interface EngineOptions {
  config: ResolvedConfig;
  toolchain: PulumiToolchain;
  log: Logger;
  /** The stacks' secrets passphrase (from the configured source). */
  passphrase: string;
  /** Environment for every stack's engine and providers, e.g. the AWS emulator's endpoint. */
  stackEnv?: Record<string, string>;
  /** Where installed node_modules trees are cached; default `<dataDir>/cache/deps`. */
  dependencyCacheDir?: string;
  versions: CheckReport["versions"];
}

/**
 * tidegate for one repository: its environments, their schedules, and one check or sync per stack
 * at a time. Built from configuration; nothing here is global, so two engines can share a process.
 */
export class Engine {
  readonly store: Store;
  readonly git: SimpleGitAdapter;
  private readonly flights = new SingleFlight();
  private scheduler: Scheduler | undefined;
  private readonly paths: ReturnType<typeof dataPaths>;
  private readonly owner = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  constructor(private readonly options: EngineOptions) {
    const { config } = options;
    this.paths = dataPaths(config.dataDir);
    fs.mkdirSync(config.dataDir, { recursive: true });
    this.store = openSqliteStore(this.paths.store);
    this.git = new SimpleGitAdapter({
      url: config.repository.url,
      mirrorDir: this.paths.mirror,
      log: (entry, message) => options.log.debug(entry, message),
    });
  }

  /**
   * Marks runs a crash or kill cut short (no end recorded) as interrupted. Only the daemon calls
   * this at startup: a CLI command next to a running daemon must not mark the daemon's runs.
   */
  recoverInterruptedRuns(): void {
    for (const run of this.store.markInterrupted(new Date().toISOString())) {
      this.options.log.warn(
        { env: run.environment, runId: run.id, kind: run.kind },
        "a run was interrupted by a crash or kill; its environment is checked again",
      );
    }
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

  private context(): CheckContext {
    const { config, toolchain, log, passphrase } = this.options;
    return {
      git: this.git,
      store: this.store,
      log,
      workspaceDir: (env) => path.join(this.paths.workspaces, env.name),
      installDependencies: (projectDir) =>
        ensureDependencies({
          projectDir,
          cacheDir: this.options.dependencyCacheDir ?? this.paths.dependencies,
        }),
      openStack: (env, projectDir) =>
        PulumiStack.open({
          workDir: projectDir,
          stackName: env.stack,
          backendUrl: config.backendUrl,
          passphrase,
          toolchain,
          pulumiHome: this.paths.pulumiHome,
          env: { ...this.options.stackEnv, ...this.environment(env.name).config },
        }),
      acquireLease: (env, runId) =>
        acquireLease(leaseDir(config.backendUrl, config.dataDir), `${env.stack}`, {
          owner: `${this.owner}:${runId}`,
        }),
      writeReport: (report) => void writeReportFiles(this.paths.reports, report),
      versions: this.options.versions,
      now: () => new Date(),
      newRunId: () => randomUUID(),
    };
  }

  /** One check of one environment; waits for any other operation on its stack to finish first. */
  async check(name: string, options: CheckOptions): Promise<CheckReport> {
    const env = this.environment(name);
    return this.flights.run(`stack:${env.stack}`, () => checkEnvironment(this.context(), env, options), {
      wait: true,
    });
  }

  /**
   * The scheduled poll: a cheap look at the branch head (no fetch, no checkout); a full check only
   * when the head moved since the last check, or the environment was never checked.
   */
  async poll(name: string, trigger = "schedule"): Promise<CheckReport | undefined> {
    const env = this.environment(name);
    const heads = await this.git.heads([env.branch]);
    const last = this.store.status(env.name);
    const unchanged =
      last?.headCommit !== undefined && heads[env.branch] === last.headCommit && last.status !== "Failed";
    if (unchanged) return undefined;
    return this.check(name, { kind: "check", trigger, allowSync: true });
  }

  /** Runs the schedules of every environment until stop(). One environment's failure never stops the others. */
  start(): void {
    const { log } = this.options;
    const scheduler = new Scheduler({
      singleFlight: this.flights,
      onError: (job, err) => log.error({ job: job.name, err }, "scheduled job failed"),
    });
    for (const env of this.environments) {
      const key = `stack:${env.stack}`;
      scheduler.add({
        name: `poll:${env.name}`,
        key: `${key}:poll`,
        cron: env.schedule.poll,
        jitterMs: 2000,
        run: async () => void (await this.poll(env.name)),
      });
      scheduler.add({
        name: `drift:${env.name}`,
        key: `${key}:drift`,
        cron: env.schedule.drift,
        jitterMs: 5000,
        run: async () =>
          void (await this.check(env.name, { kind: "drift", trigger: "schedule", allowSync: true })),
      });
    }
    scheduler.start();
    this.scheduler = scheduler;
  }

  async stop(): Promise<string[]> {
    const result = (await this.scheduler?.stop({ timeoutMs: 10 * 60_000 })) ?? { stillRunning: [] };
    this.store.close();
    return result.stillRunning;
  }
}

export class UnknownEnvironmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnknownEnvironmentError";
  }
}
