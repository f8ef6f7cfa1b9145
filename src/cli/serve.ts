import { onShutdown } from "../daemon";
import { type Command, type CommandContext } from "./command";
import {
  CONFIG_HELP,
  CONFIG_OPTIONS,
  dataDirOption,
  type EngineSession,
  flag,
  loadCliConfig,
  openEngine,
  requireConfig,
  withConfigErrors,
} from "./context";
import { TokenService } from "../app/tokens";
import type { RunningServer } from "../server";

// `tidegate serve`: the HTTP API alone, on the store a `tidegate run` (here or on another host sharing
// the store) keeps up to date. Approvals and check or sync requests reach that daemon through the
// store; without one, they are recorded and wait.

/** Exit code of a serve stopped by Ctrl-C (128 + SIGINT); a service manager's SIGTERM exits 0. */
const INTERRUPTED = 130;

export const command: Command = {
  usage: "serve [--config <file>] [--data-dir <dir>] [--emulator]",
  description: [
    "Serves tidegate's HTTP API (/api/v1, its OpenAPI document at /api/v1/openapi.json) on server.listen",
    "(default 127.0.0.1:7420; HTTPS with server.tls), reading the same store as `tidegate run`. It runs",
    "no schedules: approvals, revocations and check or sync requests are recorded in the store, and the",
    "daemon of `tidegate run` acts on them within seconds. Every request needs a token",
    "(Authorization: Bearer <token>), unless server.anonymousRead lets anonymous requests read.",
    "Stops on SIGINT or SIGTERM, letting requests in flight finish.",
    "",
    "Options:",
    "  --emulator          Point the stacks at the AWS emulator (always so for the embedded default)",
    ...CONFIG_HELP,
  ].join("\n"),
  options: { ...CONFIG_OPTIONS, emulator: { type: "boolean" } },
  run: (args, context) =>
    withConfigErrors(context, async () => {
      const choice = requireConfig(args, "serve");
      const config = await loadCliConfig(choice.path, dataDirOption(args));
      const session = await openEngine({
        config,
        context,
        ...(choice.embedded || flag(args, "emulator") ? { emulator: { reuse: true } } : {}),
      });
      let server: RunningServer | undefined;
      try {
        let stopped: (signal: NodeJS.Signals) => void = () => {};
        const signal = new Promise<NodeJS.Signals>((resolve) => (stopped = resolve));
        const removeSignals = onShutdown(async (received) => stopped(received));
        try {
          server = await startApi(session, context);
          const received = await signal;
          session.log.info({ signal: received }, "stopping the API: requests in flight finish first");
          return received === "SIGINT" ? INTERRUPTED : 0;
        } finally {
          removeSignals();
        }
      } finally {
        await server?.close();
        await session.close();
      }
    }),
};

/** The API over this session's engine, listening where server.listen says; prints its URL. */
/** Serves the API and the dashboard; `dashboardLine: false` leaves the dashboard's line to the caller. */
export async function startApi(
  session: EngineSession,
  context: CommandContext,
  options: { dashboardLine?: boolean } = {},
): Promise<RunningServer> {
  const { serveApi } = await import("../server/index.js");
  const tokens = new TokenService({
    store: session.engine.store,
    audit: session.engine.audit,
    log: session.log,
  });
  const server = await serveApi({
    engine: session.engine,
    settings: session.config.server,
    authenticate: (secret) => tokens.authenticate(secret),
    log: session.log,
    telemetry: {
      scrape: () => session.telemetry.scrape(),
      readiness: session.readiness,
      requireToken: session.config.telemetry.metrics.requireToken,
    },
    webhooks: session.config.webhooks,
    onWebhook: (provider, outcome) => session.telemetry.webhookDelivery(provider, outcome),
    registerSecret: (secret) => session.knownSecrets.add(secret),
  });
  context.stdout(`API: ${server.url} (OpenAPI document: ${server.url}/openapi.json)\n`);
  if (options.dashboardLine !== false) context.stdout(`Dashboard: ${new URL("/", server.url).href}\n`);
  return server;
}
