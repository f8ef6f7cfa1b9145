import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { ParseArgsOptionsConfig } from "node:util";

import { awsEnvVars } from "../devenv/emulator";
import { ConfigError } from "../config/errors";
import { EXIT_CODES } from "../domain/errors";
import { parseTidegateFile } from "../config/parse";
import { type ResolvedConfig, type ResolvedSettings, resolveSettings } from "../config/resolve";
import { fileUrl } from "../config/url";
import type { Engine } from "../app/engine";
import { createLogger, type Logger } from "../log";
import { KnownSecrets } from "../log/redact";
import type { RunReport } from "../domain/model";
import type { IsDead, Store } from "../adapters/store/port";
import { ownerDeadness } from "../adapters/owner";
import { provisionPulumi, type PulumiToolchain } from "../devenv/toolchain/pulumi";
import { type CommandArgs, type CommandContext, UsageError } from "./command";
import { type CliEmulator, openEmulator } from "./emulator";
import { createProgress, type Progress, type ProgressMode } from "./progress";
import type { Telemetry } from "../app/metrics";
import { tracingConfigured } from "../adapters/telemetry/configured";
import type { Readiness } from "../server";

// What the commands share: which configuration a command line means, loading it, and opening an
// engine (passphrase, logger, toolchain, emulator) or only the store for it. The engine and setup
// modules load the Pulumi SDK (seconds), so they are imported only once they are needed: a command
// line that fails early fails fast.

export const CONFIG_OPTIONS = {
  config: { type: "string" },
  "data-dir": { type: "string" },
} as const satisfies ParseArgsOptionsConfig;

export const CONFIG_HELP = [
  "  --config <file>     tidegate.yaml (default: ./tidegate.yaml if it exists, else the embedded",
  "                      default that `tidegate run` wrote in the data directory)",
  "  --data-dir <dir>    The data directory (default: the configuration's dataDir; ./.tidegate for",
  "                      the embedded default)",
];

/** The embedded default's data directory, relative to the working directory. */
export const DEFAULT_DATA_DIR = ".tidegate";
const CONFIG_FILE = "tidegate.yaml";

export interface ConfigChoice {
  path: string;
  /** The embedded default that `tidegate run` wrote (its stacks talk to the AWS emulator). */
  embedded: boolean;
}

/** A string option's value; undefined when absent. */
export function stringOption(args: CommandArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === "string" ? value : undefined;
}

export function flag(args: CommandArgs, name: string): boolean {
  return args.values[name] === true;
}

/** The data directory the command line names (`--data-dir`), absolute; undefined when absent. */
export function dataDirOption(args: CommandArgs, cwd = process.cwd()): string | undefined {
  const dir = stringOption(args, "data-dir");
  return dir === undefined ? undefined : path.resolve(cwd, dir);
}

/**
 * `--config`, else `./tidegate.yaml`, else the embedded default in the data directory
 * (`--data-dir` or `./.tidegate`); undefined when there is none.
 */
export function findConfig(args: CommandArgs, cwd = process.cwd()): ConfigChoice | undefined {
  const given = stringOption(args, "config");
  if (given !== undefined) return { path: path.resolve(cwd, given), embedded: false };
  const local = path.join(cwd, CONFIG_FILE);
  if (fs.existsSync(local)) return { path: local, embedded: false };
  const embedded = path.join(dataDirOption(args, cwd) ?? path.join(cwd, DEFAULT_DATA_DIR), CONFIG_FILE);
  if (fs.existsSync(embedded)) return { path: embedded, embedded: true };
  return undefined;
}

export function requireConfig(args: CommandArgs, command: string, cwd = process.cwd()): ConfigChoice {
  const found = findConfig(args, cwd);
  if (found) return found;
  const dataDir = dataDirOption(args, cwd) ?? path.join(cwd, DEFAULT_DATA_DIR);
  throw new UsageError(
    `no configuration: no ./${CONFIG_FILE} and no embedded default in ${dataDir}. Run \`tidegate run\` first (it sets up the embedded example), or pass --config <file>`,
    command,
  );
}

/**
 * The data directory, for commands that need nothing else: `--data-dir` alone is enough; otherwise
 * the configuration's (tidegate.yaml only: the environment files in Git are not read).
 */
export function settingsDataDir(args: CommandArgs, command: string): string {
  return dataDirOption(args) ?? storeSettings(args, command).dataDir;
}

/**
 * The data directory and the store (tidegate.yaml only), for commands that open the store and
 * nothing else. `--data-dir` alone is enough when there is no configuration to name a store.
 */
export function storeSettings(
  args: CommandArgs,
  command: string,
): Pick<ResolvedSettings, "dataDir" | "store"> {
  const given = dataDirOption(args);
  const choice = given === undefined ? requireConfig(args, command) : findConfig(args);
  if (choice === undefined) return { dataDir: given as string };
  const parsed = parseTidegateFile(choice.path, fs.readFileSync(choice.path, "utf8"));
  if (!parsed.value) throw new ConfigError(parsed.issues);
  const settings = resolveSettings(parsed.value, path.dirname(choice.path), choice.path);
  return { dataDir: given ?? settings.dataDir, ...(settings.store ? { store: settings.store } : {}) };
}

/**
 * Runs a command; a ConfigError prints every issue, one per line, and gives the exit code of kind
 * `invalid`. Nothing has
 * been written by then: the configuration is loaded before anything is created.
 */
export async function withConfigErrors(
  context: Pick<CommandContext, "stderr">,
  run: () => Promise<number>,
): Promise<number> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const count = error.issues.length;
    context.stderr(
      `tidegate: the configuration has ${count} ${count === 1 ? "problem" : "problems"}:\n${error.message}\n`,
    );
    return EXIT_CODES[error.kind];
  }
}

/**
 * The configuration, validated in full (tidegate.yaml and the environment files at the config ref),
 * with `dataDir` overriding the data directory (and the default backend that lives in it).
 */
export async function loadCliConfig(configPath: string, dataDir?: string): Promise<ResolvedConfig> {
  const { loadEngineConfig } = await import("../compose.js");
  const config = await loadEngineConfig(configPath);
  return dataDir === undefined ? config : withDataDir(config, dataDir);
}

/** The configuration with another data directory; a default file:// backend moves with it. */
export function withDataDir(config: ResolvedConfig, dataDir: string): ResolvedConfig {
  const dir = path.resolve(dataDir);
  if (dir === config.dataDir) return config;
  const defaultBackend = fileUrl(path.join(config.dataDir, "state"));
  const backendUrl =
    config.backendUrl === defaultBackend ? fileUrl(path.join(dir, "state")) : config.backendUrl;
  return { ...config, dataDir: dir, backendUrl };
}

export interface ReadContext {
  dataDir: string;
  /** The configured environments in promotion order; undefined when Git could not be read. */
  environments?: { name: string; branch: string; stack: string }[];
  /** The store, when the data directory holds one; never created here. */
  store?: Store;
  /** Whether a run's owner is gone (its run shows as Interrupted). */
  isOwnerDead: IsDead;
  close(): Promise<void>;
}

/**
 * For the commands that only read (status, report): the configuration and the store, nothing
 * started, nothing created. When the environment files cannot be fetched (the remote is down),
 * the store alone is shown, with a warning.
 */
export async function openForReading(
  args: CommandArgs,
  command: string,
  warn: (message: string) => void,
): Promise<ReadContext> {
  const choice = requireConfig(args, command);
  const override = dataDirOption(args);
  let settings: Pick<ResolvedSettings, "dataDir" | "store">;
  let environments: ReadContext["environments"];
  try {
    // The environment files as tidegate last fetched them: reading never waits for the remote. And
    // not through compose.ts, whose engine (the Pulumi SDK) takes longer to load than status may.
    const [{ loadConfig }, { environmentFilesReader }] = await Promise.all([
      import("../config/load.js"),
      import("../adapters/git/config-files.js"),
    ]);
    const loaded = await loadConfig({
      configPath: choice.path,
      readEnvironmentFiles: environmentFilesReader({ fetch: false }),
    });
    const config = override === undefined ? loaded : withDataDir(loaded, override);
    settings = config;
    environments = config.environments;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const parsed = parseTidegateFile(choice.path, fs.readFileSync(choice.path, "utf8"));
    if (!parsed.value) throw error;
    const resolved = resolveSettings(parsed.value, path.dirname(choice.path), choice.path);
    settings = { ...resolved, dataDir: override ?? resolved.dataDir };
    warn(`cannot read the environment definitions (${firstLine(error)}); showing what the store holds`);
  }
  const dataDir = settings.dataDir;
  const { openExistingStore, storeSpec } = await import("../adapters/store/open.js");
  const store = openExistingStore(storeSpec(settings));
  const isOwnerDead = ownerDeadness();
  return { dataDir, environments, store, isOwnerDead, close: async () => await store?.close() };
}

export interface EngineSession {
  engine: Engine;
  config: ResolvedConfig;
  /** `<dataDir>/reports`. */
  reportsDir: string;
  log: Logger;
  /** Secret values masked in every sink; one read later (a webhook's, a notifier's sinks') is added here. */
  knownSecrets: KnownSecrets;
  progress: Progress;
  emulator?: CliEmulator;
  /** /metrics' registry (its gauges read the engine's store) and /readyz's check. */
  telemetry: Telemetry;
  readiness: () => Promise<Readiness>;
  /** Closes the engine's store and stops the emulator; stop the daemon (src/daemon) first. Idempotent. */
  close(): Promise<void>;
}

export interface SessionOptions {
  config: ResolvedConfig;
  context: CommandContext;
  /** Start (or, with `reuse`, share) the AWS emulator and point the stacks at it. */
  emulator?: { share?: boolean; reuse?: boolean };
  logFormat?: "json" | "pretty";
}

/** Pulumi's --otel-traces takes the collector's base URL, from tidegate.yaml or OTEL_EXPORTER_OTLP_ENDPOINT. */
function pulumiTraces(endpoint: string | undefined, env: NodeJS.ProcessEnv): { pulumiTraces?: string } {
  const base = endpoint ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  return base ? { pulumiTraces: base } : {};
}

/** The values of OTEL_EXPORTER_OTLP_(TRACES_)HEADERS ("k=v,k2=v2"): a collector's credentials, never logged. */
export function otlpHeaderValues(env: Record<string, string | undefined>): string[] {
  return [env.OTEL_EXPORTER_OTLP_HEADERS, env.OTEL_EXPORTER_OTLP_TRACES_HEADERS]
    .flatMap((list) => (list ?? "").split(","))
    .map((pair) => pair.slice(pair.indexOf("=") + 1).trim())
    .filter((value) => value.length > 0);
}

/** An Engine for this command line: passphrase, logger, toolchain, emulator, versions. */
export async function openEngine(options: SessionOptions): Promise<EngineSession> {
  const { config, context } = options;
  const [{ dataPaths }, { composeEngine, readPassphrase, readinessCheck }, { Telemetry }] = await Promise.all(
    [import("../config/paths.js"), import("../compose.js"), import("../app/metrics.js")],
  );
  // Read only when an environment uses it: one with its own secrets provider never sees it.
  const passphrase = config.environments.every((env) => env.secrets)
    ? undefined
    : readPassphrase(config.secrets);
  const knownSecrets = new KnownSecrets([passphrase, ...otlpHeaderValues(context.env)]);
  const logFormat = options.logFormat ?? "pretty";
  const progress = createProgress({ write: context.stderr, mode: progressMode(logFormat, context.env) });
  const log = progress.observe(
    createLogger({
      mode: logFormat,
      level: context.env.TIDEGATE_LOG_LEVEL?.trim() || "info",
      stream: progress.stream,
      secrets: () => knownSecrets,
    }),
  );

  progress.begin("starting");
  // Both at once; both settle before anything is decided, so a failure never leaves an emulator behind.
  const [provisioned, started] = await Promise.allSettled([
    provisionToolchain(context.repoRoot, log, progress),
    options.emulator
      ? openEmulator({
          repoRoot: context.repoRoot,
          dataDir: config.dataDir,
          log: (line) => log.info({ component: "emulator" }, line),
          ...options.emulator,
        })
      : Promise.resolve(undefined),
  ]);
  const emulator = started.status === "fulfilled" ? started.value : undefined;
  try {
    if (provisioned.status === "rejected") throw provisioned.reason;
    if (started.status === "rejected") throw started.reason;
    const toolchain = provisioned.value;
    const telemetry = new Telemetry();
    const tracing = tracingConfigured(config.telemetry.traces.endpoint, context.env)
      ? (await import("../adapters/telemetry/tracing.js")).startTracing({
          ...config.telemetry.traces,
          env: context.env,
        })
      : undefined;
    const engine = await composeEngine({
      config,
      toolchain,
      log,
      ...(passphrase === undefined ? {} : { passphrase }),
      knownSecrets,
      ...(emulator ? { stackEnv: awsEnvVars(emulator) } : {}),
      versions: await versions(context.repoRoot, toolchain),
      ...(tracing ? pulumiTraces(config.telemetry.traces.endpoint, context.env) : {}),
      onReport: (report) =>
        void telemetry
          .reportWritten(report)
          .catch((err: unknown) => log.warn({ err }, "could not count the run in the metrics")),
    });
    const environments = () => engine.environments;
    telemetry.watch({ store: engine.store, environments, now: () => new Date() });
    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        progress.end();
        try {
          await engine.close();
        } finally {
          // Buffered spans are flushed before the process ends.
          await tracing?.shutdown();
          await emulator?.stop();
        }
      })());
    progress.end();
    const reportsDir = dataPaths(config.dataDir).reports;
    const readiness = readinessCheck(engine.store, toolchain);
    return {
      engine,
      config,
      reportsDir,
      log,
      progress,
      ...(emulator ? { emulator } : {}),
      telemetry,
      readiness,
      knownSecrets,
      close,
    };
  } catch (error) {
    progress.end();
    await emulator?.stop();
    throw error;
  }
}

function progressMode(logFormat: "json" | "pretty", env: NodeJS.ProcessEnv): ProgressMode {
  if (logFormat === "json") return "off";
  return process.stderr.isTTY && env.TERM !== "dumb" ? "spinner" : "lines";
}

async function provisionToolchain(
  repoRoot: string,
  log: Logger,
  progress: Progress,
): Promise<PulumiToolchain> {
  return provisionPulumi({
    repoRoot,
    onProgress: (line) => {
      const text = line.replace(/^\[toolchain\]\s*/, "").trim();
      if (text === "") return;
      progress.stage("Pulumi toolchain");
      log.info({ component: "toolchain" }, text);
    },
  });
}

async function versions(repoRoot: string, toolchain: PulumiToolchain): Promise<RunReport["versions"]> {
  return {
    tidegate: tidegateVersion(repoRoot),
    pulumi: await pulumiVersion(toolchain),
    node: process.versions.node,
  };
}

function tidegateVersion(repoRoot: string): string {
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as {
      version?: string;
    };
    return manifest.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

function pulumiVersion(toolchain: PulumiToolchain): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      path.join(toolchain.binDir, "pulumi"),
      ["version"],
      { env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" }, timeout: 20_000 },
      (error, stdout) => resolve(error ? "unknown" : stdout.trim().replace(/^v/, "") || "unknown"),
    );
  });
}

/** The newest report files of an environment, in the reports directory. */
export function latestReportFiles(
  reportsDir: string,
  environment: string,
): { markdown: string; json: string } {
  const dir = path.join(reportsDir, environment);
  return { markdown: path.join(dir, "latest.md"), json: path.join(dir, "latest.json") };
}

export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.trim().split("\n")[0] ?? "";
}

/** The one environment a command names: `tidegate check <env>`. */
export function environmentArgument(args: CommandArgs, command: string): string {
  const [name, ...extra] = args.positionals;
  if (name === undefined)
    throw new UsageError(`${command} needs an environment: tidegate ${command} <env>`, command);
  if (extra.length > 0)
    throw new UsageError(`${command} takes one environment, got ${args.positionals.length}`, command);
  return name;
}

/** Fails with the known names when `name` is not a configured environment (before anything starts). */
export function assertEnvironment(config: ResolvedConfig, name: string, command: string): void {
  if (config.environments.some((env) => env.name === name)) return;
  const known = config.environments.map((env) => env.name).join(", ") || "none";
  throw new UsageError(`unknown environment '${name}' (known: ${known})`, command);
}
