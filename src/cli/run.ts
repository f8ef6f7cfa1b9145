import * as fs from "node:fs";
import * as path from "node:path";

import { Daemon, onShutdown, type StopResult } from "../daemon";
import { pulumiCancellation } from "../adapters/pulumi/deadline";
import { ownerDeadness, processOwner } from "../adapters/owner";
import { prepareExample, type ExampleSetup } from "../compose";
import { exampleClusterPlan } from "../devenv/demo/cluster";
import { type Command, type CommandArgs, type CommandContext, UsageError } from "./command";
import {
  dataDirOption,
  DEFAULT_DATA_DIR,
  type EngineSession,
  flag,
  latestReportFiles,
  loadCliConfig,
  openEngine,
  stringOption,
  withConfigErrors,
} from "./context";
import { errorKind, errorRecord } from "../domain/errors";
import { startApi } from "./serve";
import { startNotifications } from "./notifications";
import { dashboardLine, exampleReadToken } from "./example-token";
import { TokenService } from "../app/tokens";
import type { RunningServer } from "../server";
import { alignColumns, anyFailed, formatStatusTable } from "../render/format";
import { status } from "../app/read";

// `tidegate run`: the daemon. Checks every environment once, prints where things stand, then keeps
// polling on the environments' schedules until SIGINT or SIGTERM. Without a configuration it runs
// the embedded example: a repository seeded from this checkout, its stacks on the AWS emulator.

/** Exit code of a `run --once` whose startup checks a signal cut short (128 + SIGINT). */
const INTERRUPTED = 130;
/** How long a stop waits for a running check or update before giving up on it. */
const STOP_TIMEOUT_MS = 10 * 60_000;

export const command: Command = {
  usage: "run [--config <file>] [--data-dir <dir>] [--once] [--emulator] [--log-format pretty|json]",
  description: [
    "Runs tidegate: checks every environment once (syncing those whose policy allows it), prints the",
    "status table and where the reports are, then polls each environment's branch and checks its drift",
    "on its schedule until SIGINT or SIGTERM (a running update is let finish; a second signal cancels it",
    "through Pulumi, a third exits at once). An approval or revocation",
    "(from any process sharing the data directory) makes it look at that environment again within seconds.",
    "It serves the HTTP API as well (server.listen, default 127.0.0.1:7420; see `tidegate help serve`).",
    "",
    "Without --config and without ./tidegate.yaml it runs the embedded example: a Git repository seeded",
    "from this checkout in <dataDir>/example, a file:// backend, and the stacks on an AWS emulator it",
    "starts. Where the Kubernetes binaries are found (scripts/kubernetes.sh --lookup), each environment also",
    "deploys a cluster stack on a local control plane it starts, reading the cloud stack's bucket through a",
    "stack reference. Its <dataDir>/tidegate.yaml is the starting point for your own configuration.",
    "",
    "Options:",
    "  --config <file>     tidegate.yaml (default: ./tidegate.yaml if it exists, else the embedded example)",
    `  --data-dir <dir>    The data directory (default: the configuration's dataDir; ./${DEFAULT_DATA_DIR}`,
    "                      for the embedded example)",
    "  --once              Check every environment once, print, and exit: 0 when none Failed, else 1",
    "  --emulator          Start the AWS emulator and point the stacks at it (always so for the example)",
    "  --log-format <f>    pretty or json (default: json when stdout is not a terminal)",
    "",
    "Logs go to stderr (TIDEGATE_LOG_LEVEL=debug for more); the status table goes to stdout.",
  ].join("\n"),
  options: {
    config: { type: "string" },
    "data-dir": { type: "string" },
    once: { type: "boolean" },
    emulator: { type: "boolean" },
    "log-format": { type: "string" },
  },
  run: (args, context) => withConfigErrors(context, () => run(args, context)),
};

async function run(args: CommandArgs, context: CommandContext): Promise<number> {
  const logFormat = parseLogFormat(stringOption(args, "log-format"));
  const cwd = process.cwd();
  const given = stringOption(args, "config");
  const local = path.join(cwd, "tidegate.yaml");
  const dataDir = dataDirOption(args, cwd);

  let example: ExampleSetup | undefined;
  let cluster: { binDir: string } | undefined;
  let configPath: string;
  if (given !== undefined) configPath = path.resolve(cwd, given);
  else if (fs.existsSync(local)) configPath = local;
  else {
    const exampleDataDir = dataDir ?? path.join(cwd, DEFAULT_DATA_DIR);
    const plan = await exampleClusterPlan(context.repoRoot, exampleDataDir, context.env);
    example = await prepareExample(context.repoRoot, exampleDataDir, plan.seed);
    cluster = plan.start;
    context.stdout(`${plan.line}\n`);
    configPath = example.configPath;
  }
  const config = await loadCliConfig(configPath, example ? undefined : dataDir);

  const session = await openEngine({
    config,
    context,
    logFormat,
    ...(example || flag(args, "emulator") ? { emulator: { share: true } } : {}),
    ...(cluster ? { cluster: { ...cluster, start: true } } : {}),
  });

  // The daemon owns the store's runs: one left without an end was cut short by a crash or kill.
  await session.engine.recoverInterruptedRuns();
  const { ownershipTtlMs, heartbeatMs, requestPollMs, ...retry } = session.config.daemon;
  const daemon = new Daemon({
    engine: session.engine,
    log: session.log,
    requests: session.engine.store,
    ...(requestPollMs === undefined ? {} : { requestIntervalMs: requestPollMs }),
    retry: { ...retry, configRef: session.config.configRef },
    workers: session.config.daemon.concurrency,
    // `run --once` has no schedules to come: it always checks in full.
    startup: flag(args, "once") ? "check" : session.config.daemon.startup,
    // Every `run` is a replica: the environments are shared with the others on the same store.
    ...(flag(args, "once")
      ? {}
      : {
          replica: {
            store: session.engine.store,
            me: processOwner(),
            ttlMs: ownershipTtlMs,
            heartbeatMs,
            isDead: ownerDeadness({ ttlMs: ownershipTtlMs }),
          },
        }),
    onRun: (item) => {
      session.progress.begin(`checking ${item.key}`, item.kind === "drift" ? "drift" : "check");
      return () => session.progress.end();
    },
  });

  session.telemetry.watchQueue(() => daemon.stats());

  // Registered before the startup checks, so a signal during them still stops cleanly.
  let stopping: NodeJS.Signals | undefined;
  let reportStopped: (result: StopResult) => void = () => {};
  const stopped = new Promise<StopResult>((resolve) => (reportStopped = resolve));
  const removeSignals = onShutdown(
    async (signal) => {
      stopping = signal;
      session.log.info(
        { signal },
        "stopping: a running check or update finishes first (a second signal cancels it through Pulumi, a third forces the exit)",
      );
      reportStopped(await daemon.stop({ timeoutMs: STOP_TIMEOUT_MS }));
    },
    { running: () => daemon.running(), cancel: () => pulumiCancellation.cancel() },
  );

  let api: RunningServer | undefined;
  let notifier: ReturnType<typeof startNotifications>;
  try {
    // The API answers from the start: during the startup checks it shows them Progressing.
    // The example prints its dashboard line with the token to sign in with (below).
    if (!flag(args, "once")) api = await startApiBesideDaemon(session, context, example === undefined);
    if (api && example) {
      const tokens = new TokenService({ store: session.engine.store, audit: session.engine.audit });
      context.stdout(dashboardLine(api.url, (await exampleReadToken(tokens)).secret));
    }
    if (!flag(args, "once")) notifier = startNotifications(session, api);
    const statuses = await daemon.startup();
    if (stopping) {
      await stopped;
      return INTERRUPTED;
    }

    context.stdout(await summary(session, example));
    if (flag(args, "once")) return anyFailed(statuses) ? 1 : 0;

    daemon.watch();
    const count = session.engine.environments.length;
    context.stdout(
      `\nWatching ${count} ${count === 1 ? "environment" : "environments"} on their schedules. Stop with Ctrl-C (a running update finishes first).\n`,
    );
    const { stillRunning } = await stopped;
    if (stillRunning.length > 0) {
      context.stderr(`tidegate: stopped while still running: ${stillRunning.join(", ")}\n`);
      return 1;
    }
    // A service manager's SIGTERM is a clean stop; a person's Ctrl-C is an interrupt.
    return stopping === "SIGINT" ? INTERRUPTED : 0;
  } finally {
    removeSignals();
    await daemon.stop({ timeoutMs: STOP_TIMEOUT_MS });
    await notifier?.stop();
    await api?.close();
    await session.close();
  }
}

/**
 * The daemon deploys and gates whether or not its API can listen (the address may be taken, e.g. by
 * another daemon on the same store): a failure to listen is logged and printed, and it runs on.
 * `tidegate serve`, whose only job is the API, fails instead.
 */
async function startApiBesideDaemon(
  session: EngineSession,
  context: CommandContext,
  dashboardLine: boolean,
): Promise<RunningServer | undefined> {
  try {
    return await startApi(session, context, { dashboardLine });
  } catch (err) {
    // A configuration error (an unreadable TLS file) stops the start, as any other one does.
    if (errorKind(err) === "invalid") throw err;
    const { message, recovery } = errorRecord(err);
    session.log.error({ err }, "the HTTP API is not served; the daemon runs on without it");
    context.stdout(`API: not served: ${message}${recovery ? ` (${recovery})` : ""}\n`);
    return undefined;
  }
}

function parseLogFormat(value: string | undefined): "json" | "pretty" {
  if (value === undefined) return process.stdout.isTTY ? "pretty" : "json";
  if (value === "json" || value === "pretty") return value;
  throw new UsageError(`--log-format takes pretty or json, not '${value}'`, "run");
}

/** The status table, where the reports are and, for the example, how to watch your own repository. */
async function summary(session: EngineSession, example: ExampleSetup | undefined): Promise<string> {
  const { engine, config } = session;
  // As `tidegate status` shows it: with a line per stack of an environment of several.
  const rows = await status(engine);
  const reports = alignColumns(
    engine.environments.map((env) => [
      `  ${env.name}`,
      latestReportFiles(session.reportsDir, env.name).markdown,
    ]),
  );
  const out = [
    formatStatusTable(rows, new Date()),
    "Reports (JSON beside each, as latest.json):",
    ...reports,
  ];
  if (example) {
    const configFile = path.join(config.dataDir, "tidegate.yaml");
    out.push(
      "",
      `This is the embedded example: tidegate watches ${example.repository.url},`,
      ...(example.repository.cluster
        ? [
            "seeded from this checkout: each environment's cloud stack runs on a local AWS emulator, its cluster",
            "stack on a local Kubernetes control plane (both stopped on exit). Commit and push in the work",
          ]
        : [
            "seeded from this checkout, and the stacks run on a local AWS emulator. Commit and push in the work",
          ]),
      `clone ${example.repository.workClone} to see it react.`,
      "",
      "To watch your own repository:",
      `  cp ${configFile} tidegate.yaml   # then set repository.url (and review backend and secrets)`,
      "  tidegate run --config tidegate.yaml",
    );
  }
  return `${out.join("\n")}\n`;
}
