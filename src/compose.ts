import { randomBytes, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import { loadConfig } from "./config/load";
import type {
  ResolvedConfig,
  ResolvedEnvironment,
  ResolvedRepository,
  SecretsSource,
} from "./config/resolve";
import { exampleSeeded, seedExampleRepository, type SeededRepository } from "./devenv/demo/seed";
import type { ExampleCluster } from "./devenv/demo/stacks";
import type { Pool } from "pg";
import { AuditLog, PostgresAuditLog } from "./adapters/audit";
import { runCommand } from "./adapters/commands/run";
import { environmentFilesReader } from "./adapters/git/config-files";
import { SimpleGitAdapter } from "./adapters/git/simple-git";
import { ensureDependencies } from "./adapters/pulumi/dependencies";
import { acquireLease, leaseDir, type Lease } from "./adapters/pulumi/lease";
import { ensurePolicyPackDependencies } from "./adapters/pulumi/policy";
import type { StackPort } from "./adapters/pulumi/port";
import type { StackOptions } from "./adapters/pulumi/stack";
import type { PulumiToolchain } from "./adapters/pulumi/toolchain";
import { writeReportFiles } from "./adapters/reports/files";
import type { Store } from "./adapters/store/port";
import { openStore, storeSpec, type StoreSpec } from "./adapters/store/open";
import { postgresPool } from "./adapters/store/postgres";
import { acquireStoreLease, stackLeaseKey } from "./adapters/store/stack-lease";
import type { Engine } from "./app/engine";
import { runOwnerId } from "./app/environment-lease";
import type { EngineDeps, RunPorts } from "./app/ports";
import { HEARTBEAT_INTERVAL_MS, ownerDeadness, processOwner } from "./adapters/owner";
import { providerDirsOn, readableStacks, StackSandbox } from "./adapters/sandbox";
import { Heartbeat } from "./adapters/store/heartbeat";
import { EnvironmentTarget, installSettings, KubeconfigFiles } from "./adapters/targets";
import { dataPaths } from "./config/paths";
import { describePassphraseSource } from "./config/passphrase-source";
import type { RunReport } from "./domain/model";
import type { Logger } from "./log";
import { recordEnvironmentList } from "./app/environment-list";
import { KnownSecrets, Redactor } from "./log/redact";

// The composition root: every concrete adapter is chosen and built here, from the configuration,
// and handed to the use cases as ports. Entry points (the CLI, soon the HTTP API) open what they
// need through these functions and nothing else.

export { openExistingStore, openStore, storeSpec, type StoreSpec } from "./adapters/store/open";

/**
 * The audit log: the data directory's file, or with `pool` the PostgreSQL log (one chain for every
 * replica on that database). `secrets` are redacted from everything appended (read at each append:
 * the secrets a run reads join the set as it goes).
 */
export function openAuditLog(dataDir: string, options?: AuditLogSettings & { pool?: undefined }): AuditLog;
export function openAuditLog(dataDir: string, options: AuditLogSettings & { pool: Pool }): PostgresAuditLog;
export function openAuditLog(
  dataDir: string,
  options?: AuditLogSettings & { pool?: Pool },
): AuditLog | PostgresAuditLog;
export function openAuditLog(
  dataDir: string,
  options: AuditLogSettings & { pool?: Pool } = {},
): AuditLog | PostgresAuditLog {
  const secrets = options.secrets ?? [];
  const settings = {
    redact: (text: string) => new Redactor({ secrets, stacks: false }).text(text),
    ...(options.now ? { now: options.now } : {}),
  };
  return options.pool
    ? new PostgresAuditLog(options.pool, settings)
    : new AuditLog(dataPaths(dataDir).audit, settings);
}

export interface AuditLogSettings {
  secrets?: Iterable<string>;
  now?: () => Date;
}

/**
 * The audit log that goes with a store: the data directory's file beside SQLite, the database's
 * log beside PostgreSQL (every replica appends to one chain). `close` ends what it opened.
 */
export function auditFor(
  spec: StoreSpec,
  dataDir: string,
  settings: AuditLogSettings = {},
): { audit: AuditLog | PostgresAuditLog; close(): Promise<void> } {
  if (spec.kind === "sqlite") return { audit: openAuditLog(dataDir, settings), close: async () => undefined };
  const pool = postgresPool({ url: spec.url, password: spec.password, max: 2 });
  return { audit: openAuditLog(dataDir, { ...settings, pool }), close: () => pool.end() };
}

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
  versions: RunReport["versions"];
  /** The clock gates read (sync windows, soak times); tests pass their own. */
  now?: () => Date;
  /** The collector Pulumi's previews and updates send their spans to (--otel-traces). */
  pulumiTraces?: string;
  /** Called with each run's report once it is recorded (metrics). */
  onReport?: (report: RunReport) => void;
}

/**
 * The engine for one configuration: the store, the Git mirror, the audit log, the report files, the
 * stacks (with the toolchain, the backend, the passphrase and each environment's variables), the
 * leases and the clock. The engine and the stack adapter load the Pulumi SDK (seconds), so they are
 * imported here, only once an engine is asked for.
 */
export async function composeEngine(options: EngineOptions): Promise<Engine> {
  const [{ Engine }, { PulumiStack }] = await Promise.all([
    import("./app/engine.js"),
    import("./adapters/pulumi/stack.js"),
  ]);
  const engine = new Engine(engineDeps(options, (stackOptions) => PulumiStack.open(stackOptions)));
  await recordEnvironmentList(engine.store, engine.environments, options.log);
  return engine;
}

type OpenPulumiStack = (options: StackOptions) => Promise<StackPort>;

function engineDeps(options: EngineOptions, openPulumiStack: OpenPulumiStack): EngineDeps {
  const { config, toolchain, log, passphrase } = options;
  const paths = dataPaths(config.dataDir);
  fs.mkdirSync(config.dataDir, { recursive: true });
  const now = options.now ?? (() => new Date());
  const cacheDir = options.dependencyCacheDir ?? paths.dependencies;
  const owner = processOwner();
  const isDead = ownerDeadness();
  const knownSecrets = options.knownSecrets ?? new KnownSecrets();
  if (passphrase !== undefined) knownSecrets.add(passphrase);
  const spec = storeSpec(config);
  if (spec.kind === "postgres") knownSecrets.add(spec.password);
  const audited = auditFor(spec, config.dataDir, { secrets: knownSecrets, now });
  const opened = openStore(spec);
  // Environments' kubeconfigs, as private files for their processes; removed when the engine closes.
  const kubeconfigFiles = new KubeconfigFiles();
  const store: Store = {
    ...opened,
    close: async () => {
      kubeconfigFiles.dispose();
      await opened.close();
      await audited.close();
    },
  };
  const heartbeat = new Heartbeat({
    store,
    owner,
    intervalMs: HEARTBEAT_INTERVAL_MS,
    onError: (error) => log.warn({ error: String(error) }, "could not record this process's heartbeat"),
  });
  const sandbox = new StackSandbox({
    mode: config.sandbox,
    dir: paths.sandbox,
    backendUrl: config.backendUrl,
    toolchain,
    dependencyCacheDir: cacheDir,
    // A provider the engine's own PATH carries (the example's local Kubernetes provider build).
    providerDirs: providerDirsOn(options.stackEnv?.PATH),
    onUnavailable: (detail) =>
      log.warn(
        { detail },
        "no working bubblewrap: stacks run unsandboxed, and environments sharing a file:// backend can read each other's state",
      ),
  });
  // One run of one environment: its credentials and passphrase are read once, when first needed.
  const forRun = (env: ResolvedEnvironment): RunPorts => {
    const install = installSettings(env);
    // npm runs on the host: a sandboxed environment's branch code must not run there.
    const scripts = async () => install.scripts && !(await sandbox.enabled());
    let opened: Promise<EnvironmentTarget> | undefined;
    const target = () =>
      (opened ??= EnvironmentTarget.open({
        environment: env,
        engineBackendUrl: config.backendUrl,
        ...(passphrase === undefined
          ? {}
          : {
              enginePassphrase: passphrase,
              enginePassphraseSource: describePassphraseSource(config.secrets),
            }),
        ...(options.stackEnv ? { engineEnv: options.stackEnv } : {}),
        knownSecrets,
        kubeconfigFiles,
      }));
    return {
      openStack: async (projectDir, stackOptions) => {
        const opened = await target();
        // One stack of the environment; its stack references read the stacks it depends on.
        const stack = stackOptions?.target ?? env;
        return openPulumiStack({
          ...(stackOptions?.ignoreChanges ? { ignoreChanges: stackOptions.ignoreChanges } : {}),
          workDir: projectDir,
          stackName: stack.stack,
          pulumiHome: paths.pulumiHome,
          timeouts: config.timeouts,
          ...(options.pulumiTraces ? { otelTraces: options.pulumiTraces } : {}),
          ...opened.stackOptions(),
          ...(await sandbox.forStack({
            environment: env.name,
            stack: stack.stack,
            projectDir,
            backendUrl: opened.backendUrl,
            envNames: opened.variableNames(),
            files: opened.files(),
            references: readableStacks(stack, projectDir),
          })),
        });
      },
      acquireLease: async (runId, identity) => {
        const holder = runOwnerId(owner, runId);
        const backendUrl = env.backendUrl ?? config.backendUrl;
        // Stacks of several projects may share a name on one backend: theirs carry the project.
        const name = identity ? `${identity.project}/${identity.stack}` : env.stack;
        // A shared store holds the lease for every replica on it, whatever the backend; a file
        // backend's lease file also keeps out the tidegates on other stores sharing its folder.
        const shared =
          spec.kind === "postgres"
            ? await acquireStoreLease(store, stackLeaseKey(backendUrl, name), {
                owner: holder,
                isDead,
                onRenewFailed: (err) => log.error({ env: env.name, err }, "could not keep the stack's lease"),
              })
            : undefined;
        if (spec.kind === "postgres" && !shared) return undefined;
        if (shared && !backendUrl.startsWith("file://")) return shared;
        const file = acquireLease(leaseDir(backendUrl, config.dataDir), name, { owner: holder, isDead });
        if (!file) shared?.release();
        return file && shared ? bothLeases(shared, file) : file;
      },
      installDependencies: async (projectDir) =>
        ensureDependencies({
          projectDir,
          cacheDir,
          ...install,
          scripts: await scripts(),
          timeoutMs: config.timeouts.installMs,
        }),
      installPolicyPack: async (packDir) =>
        void (await ensurePolicyPackDependencies({
          packDir,
          cacheDir,
          ...install,
          scripts: await scripts(),
          timeoutMs: config.timeouts.installMs,
        })),
      runCommand: async (command, { cwd, commit }) =>
        runCommand(command, { cwd, commit, env: (await target()).readEnv, secrets: [...knownSecrets] }),
    };
  };
  // One mirror per repository, each fetched with its own token.
  const gitAdapter = (repository: ResolvedRepository, mirrorDir: string) =>
    new SimpleGitAdapter({
      url: repository.url,
      token: repository.token,
      timeouts: repository.timeouts,
      mirrorDir,
      log: (entry, message) => log.debug(entry, message),
    });
  const gits = new Map(
    (config.repositories ?? []).map((source) => [
      source.name,
      gitAdapter(source.repository, paths.repositoryMirror(source.name)),
    ]),
  );
  const [first] = gits.values();
  return {
    config,
    store,
    git: first ?? gitAdapter(config.repository, paths.mirror),
    gitFor: (name) => {
      const git = gits.get(name);
      if (!git) throw new Error(`unknown repository '${name}'`);
      return git;
    },
    audit: audited.audit,
    log,
    forRun,
    owner,
    duringRun: (work) => heartbeat.during(work),
    isOwnerDead: isDead,
    writeReport: (report) => {
      writeReportFiles(paths.reports, report);
      options.onReport?.(report);
    },
    workspaceDir: (environment) => path.join(paths.workspaces, environment),
    scratchDir: () => path.join(config.dataDir, "scratch", `promote-${randomUUID().slice(0, 8)}`),
    versions: options.versions,
    stackConcurrency: config.daemon.stackConcurrency,
    now,
    newId: () => randomUUID(),
  };
}

/**
 * /readyz: ready when the store answers a read and the toolchain's Pulumi CLI and Node language host
 * are there and executable.
 */
export function readinessCheck(
  store: Pick<Store, "statuses">,
  toolchain: PulumiToolchain,
): () => Promise<{ ready: boolean; checks: Record<string, string> }> {
  const settle = async (work: () => Promise<unknown>) => {
    try {
      await work();
      return "ok";
    } catch (error) {
      return `not usable: ${error instanceof Error ? error.message : String(error)}`;
    }
  };
  return async () => {
    const checks = {
      store: await settle(() => store.statuses()),
      toolchain: await settle(() =>
        Promise.all(
          ["pulumi", "pulumi-language-nodejs"].map((bin) =>
            fs.promises.access(path.join(toolchain.binDir, bin), fs.constants.X_OK),
          ),
        ),
      ),
    };
    return { ready: Object.values(checks).every((v) => v === "ok"), checks };
  };
}

/** The configuration, with environment files read from the repository at the config ref. */
export async function loadEngineConfig(
  configPath: string,
  options: { fetch?: boolean } = {},
): Promise<ResolvedConfig> {
  return loadConfig({ configPath, readEnvironmentFiles: environmentFilesReader(options) });
}

/** The passphrase from where the configuration says it comes. */
export function readPassphrase(secrets: SecretsSource): string {
  if (secrets.kind === "env") {
    const value = process.env[secrets.name];
    if (!value)
      throw new Error(
        `the stacks' secrets passphrase is not set: export ${secrets.name}, or set secrets.passphraseFile in tidegate.yaml`,
      );
    return value;
  }
  try {
    return fs.readFileSync(secrets.path, "utf8").trim();
  } catch (err) {
    throw new Error(`cannot read the secrets passphrase file ${secrets.path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * The example's passphrase: generated once, before the example is seeded with salts made from it.
 * Once seeded, a missing file is an error: a new passphrase could not open the stacks.
 */
function examplePassphrase(dataDir: string, exampleDir: string): string {
  const file = path.join(dataDir, "passphrase");
  if (fs.existsSync(file)) return readPassphrase({ kind: "file", path: file });
  if (exampleSeeded(exampleDir)) {
    throw new Error(
      `the example's secrets passphrase file ${file} is missing, but the example in ${exampleDir} was seeded with it and its stacks need it. Restore the file; or, to start the example afresh, delete ${exampleDir} and ${dataPaths(dataDir).state} and run again.`,
    );
  }
  const passphrase = randomBytes(24).toString("base64url");
  fs.writeFileSync(file, passphrase, { mode: 0o600 });
  return passphrase;
}

export interface ExampleSetup {
  configPath: string;
  repository: SeededRepository;
}

/**
 * The embedded default: with no configuration, tidegate watches an example repository in its data
 * directory, seeded from this checkout, with a file:// backend and a generated passphrase. It
 * writes a real tidegate.yaml for it, which users copy to point tidegate at their own repository.
 */
export async function prepareExample(
  repoRoot: string,
  dataDir: string,
  options: { cluster?: ExampleCluster } = {},
): Promise<ExampleSetup> {
  const exampleDir = path.join(dataDir, "example");
  fs.mkdirSync(dataDir, { recursive: true });
  const repository = await seedExampleRepository({
    repoRoot,
    dir: exampleDir,
    branches: ["test", "stage", "prod"],
    passphrase: examplePassphrase(dataDir, exampleDir),
    ...(options.cluster ? { cluster: options.cluster } : {}),
  });
  const configPath = path.join(dataDir, "tidegate.yaml");
  const config = {
    repository: { url: repository.url },
    dataDir: ".",
    backend: { url: `file://${dataPaths(dataDir).state}` },
    secrets: { passphraseFile: "passphrase" },
  };
  const header = [
    "# Written by `tidegate run` for its embedded example. To watch your own repository, copy this",
    "# file, set repository.url to it, and run `tidegate run --config <file>`.",
    "# yaml-language-server: $schema=" + path.join(repoRoot, "schema", "tidegate.schema.json"),
    "",
  ].join("\n");
  fs.writeFileSync(configPath, header + stringify(config));
  return { configPath, repository };
}

/** Two leases held as one: released together. */
function bothLeases(a: Lease, b: Lease): Lease {
  return {
    owner: a.owner,
    release() {
      b.release();
      a.release();
    },
  };
}
