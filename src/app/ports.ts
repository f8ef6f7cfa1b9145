import type { AuditEntry, AuditFilter, AuditInput, VerifyResult } from "../adapters/audit";
import type { GitPort } from "../adapters/git/port";
import type { DependencyResult } from "../adapters/pulumi/dependencies";
import type { Lease } from "../adapters/pulumi/lease";
import type { StackPort } from "../adapters/pulumi/port";
import type { OpenedStack } from "../adapters/sandbox/references";
import type { IsDead, Store } from "../adapters/store/port";
import type { ResolvedConfig, ResolvedEnvironment } from "../config/resolve";
import type { GateCommand, CommandResult } from "../domain/gates";
import type { IgnoreChangesSpec } from "../domain/ignore";
import type { RunReport } from "../domain/model";
import type { Logger } from "../log";

// What the use cases need of the outside world. src/compose.ts builds the real ones from the
// configuration; tests pass their own. Nothing in src/app constructs an adapter.

/** The hash-chained audit log: appended to by the use cases, read by `audit`. */
export interface AuditPort {
  append(input: AuditInput): Promise<AuditEntry>;
  entries(filter?: AuditFilter): Promise<AuditEntry[]>;
  verify(): Promise<VerifyResult>;
}

/** The part of the configuration the engine reads. */
export type EngineConfig = Pick<ResolvedConfig, "environments" | "environmentsDir"> &
  Partial<Pick<ResolvedConfig, "configRef" | "repositories">>;

/** How a run opens its stack: `ignoreChanges` from the drift.ignore rules in force. */
export interface StackOpenOptions {
  ignoreChanges?: IgnoreChangesSpec[];
  /**
   * Which of the environment's stacks (project folder, Pulumi stack, and the environment's stacks
   * for its stack references); absent: the environment's own project and stack.
   */
  target?: OpenedStack;
}

/** One Pulumi stack of an environment of several: its project folder and stack. */
export interface StackIdentity {
  project: string;
  stack: string;
}

/** The outside world of one run of one environment, with that environment's credentials. */
export interface RunPorts {
  /** The environment's stack, opened on the program checked out in `projectDir`. */
  openStack(projectDir: string, options?: StackOpenOptions): Promise<StackPort>;
  /**
   * tidegate's own lease on the environment's stack (or, with several, on `stack`) for one run;
   * undefined when another holds it.
   */
  acquireLease(runId: string, stack?: StackIdentity): Promise<Lease | undefined>;
  /** Installs a Pulumi project's dependencies. */
  installDependencies(projectDir: string): Promise<DependencyResult>;
  /** Installs a policy pack's dependencies. */
  installPolicyPack(packDir: string): Promise<void>;
  /** Runs a gate's command with the environment's read variables, secrets redacted from its output. */
  runCommand(command: GateCommand, options: { cwd: string; commit: string }): Promise<CommandResult>;
}

export interface EngineDeps {
  config: EngineConfig;
  store: Store;
  git: GitPort;
  /** With several repositories: the named one's Git (`git` is the first one's). */
  gitFor?(repository: string): GitPort;
  audit: AuditPort;
  log: Logger;
  /** What one run of an environment uses: its credentials are read once, when first needed. */
  forRun(env: ResolvedEnvironment): RunPorts;
  /** This process, as the owner of the runs it records. */
  owner: string;
  /** Keeps this process's heartbeat on its runs while `work` runs. */
  duringRun<T>(work: () => Promise<T>): Promise<T>;
  /** Whether a run's owner is gone (the same host: its process; another: its heartbeat). */
  isOwnerDead: IsDead;
  /** Keeps a finished run's report where people read it (files beside the store). */
  writeReport(report: RunReport): void;
  /** The environment's checkout. */
  workspaceDir(environment: string): string;
  /** A new folder for one promotion's scratch worktree. */
  scratchDir(): string;
  versions: RunReport["versions"];
  /** Stacks of an environment of several previewed or updated at once (daemon.stackConcurrency). */
  stackConcurrency?: number;
  /** The clock gates read (sync windows, soak times) and records carry. */
  now(): Date;
  newId(): string;
}
