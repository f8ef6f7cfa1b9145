import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

import { awsEnvVars } from "../devenv/emulator";
import type { ResolvedConfig } from "../config/resolve";
import type { Engine } from "../app/engine";
import { createLogger, type Logger } from "../log";
import { KnownSecrets } from "../log/redact";
import type { RunReport } from "../domain/model";
import { provisionPulumi, type PulumiToolchain } from "../devenv/toolchain/pulumi";
import { type CommandArgs, type CommandContext, UsageError } from "./command";
import { type CliEmulator, openEmulator } from "./emulator";
import { exampleClusterEnv, startExampleCluster, type RunningExampleCluster } from "../devenv/demo/cluster";
import { createProgress, type Progress, type ProgressMode } from "./progress";
import { withDataDir } from "./read-context";
import type { Telemetry } from "../app/metrics";
import { tracingConfigured } from "../adapters/telemetry/configured";
import type { Readiness } from "../server";

// What the commands share: which configuration a command line means, loading it, and opening an
// engine (passphrase, logger, toolchain, emulator) or only the store for it. The engine and setup
// modules load the Pulumi SDK (seconds), so they are imported only once they are needed: a command
// line that fails early fails fast.

export {
  CONFIG_HELP,
  CONFIG_OPTIONS,
  type ConfigChoice,
  dataDirOption,
  DEFAULT_DATA_DIR,
  findConfig,
  firstLine,
  flag,
  openForReading,
  type ReadContext,
  requireConfig,
  settingsDataDir,
  storeSettings,
  stringOption,
  withConfigErrors,
  withDataDir,
} from "./read-context";

/**
 * The configuration, validated in full (tidegate.yaml and the environment files at the config ref),
 * with `dataDir` overriding the data directory (and the default backend that lives in it).
 */
export async function loadCliConfig(configPath: string, dataDir?: string): Promise<ResolvedConfig> {
  const { loadEngineConfig } = await import("../compose.js");
  const config = await loadEngineConfig(configPath);
  return dataDir === undefined ? config : withDataDir(config, dataDir);
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
  /** Closes the engine's store and stops the emulator and the example's control plane; stop the daemon (src/daemon) first. Idempotent. */
  close(): Promise<void>;
}

export interface SessionOptions {
  config: ResolvedConfig;
  context: CommandContext;
  /** Start (or, with `reuse`, share) the AWS emulator and point the stacks at it. */
  emulator?: { share?: boolean; reuse?: boolean };
  /**
   * The example's cluster stack: its provider from these binaries, and with `start` the local
   * Kubernetes control plane (else the one `tidegate run` started, through its kubeconfig file).
   */
  cluster?: { binDir: string; start?: boolean };
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
  const [provisioned, started, clusterStarted] = await Promise.allSettled([
    provisionToolchain(context.repoRoot, log, progress),
    options.emulator
      ? openEmulator({
          repoRoot: context.repoRoot,
          dataDir: config.dataDir,
          log: (line) => log.info({ component: "emulator" }, line),
          ...options.emulator,
        })
      : Promise.resolve(undefined),
    openCluster(options.cluster, config.dataDir, log),
  ]);
  const emulator = started.status === "fulfilled" ? started.value : undefined;
  const cluster = clusterStarted.status === "fulfilled" ? clusterStarted.value : undefined;
  const stopServices = async () => {
    await Promise.all([emulator?.stop(), cluster?.stop()]);
  };
  const stackEnv = { ...(emulator ? awsEnvVars(emulator) : {}), ...cluster?.stackEnv };
  try {
    if (provisioned.status === "rejected") throw provisioned.reason;
    if (started.status === "rejected") throw started.reason;
    if (clusterStarted.status === "rejected") throw clusterStarted.reason;
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
      ...(emulator || cluster ? { stackEnv } : {}),
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
          await stopServices();
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
    await stopServices();
    throw error;
  }
}

/** The example's cluster stack: the control plane started here, or only its provider (see SessionOptions). */
async function openCluster(
  cluster: SessionOptions["cluster"],
  dataDir: string,
  log: Logger,
): Promise<RunningExampleCluster | undefined> {
  if (!cluster) return undefined;
  if (!cluster.start) return { stackEnv: exampleClusterEnv(cluster.binDir), stop: async () => {} };
  return startExampleCluster({
    binDir: cluster.binDir,
    dataDir,
    log: (line) => log.debug({ component: "cluster" }, line),
  });
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
