import type { Engine } from "../app/engine";
import { loadWebhookSecrets, WebhookIntake } from "../app/webhooks";
import type { ServerSettings, WebhookSettings } from "../config/resolve";
import type { Logger } from "../log";
import { createApp } from "./app";
import type { TelemetryRoutes } from "./metrics";
import type { Authenticate } from "./auth";
import { enginePorts } from "./engine-ports";
import { type RunningServer, startServer } from "./listen";
import type { WebhookDeps } from "./webhooks/route";

export { API_BASE, createApp, type ServerDeps } from "./app";
export type { Authenticate } from "./auth";
export type { RunningServer } from "./listen";
export type { Readiness, TelemetryRoutes } from "./metrics";

/** The HTTP API over an engine, listening where server.listen says. */
export async function serveApi(options: {
  engine: Engine;
  settings: ServerSettings;
  authenticate: Authenticate;
  log: Logger;
  version?: string;
  telemetry?: TelemetryRoutes;
  /** webhooks in tidegate.yaml; none: every provider is refused. */
  webhooks?: WebhookSettings;
  /** Registers a secret read here with the logs' redaction. */
  registerSecret?: (secret: string) => void;
  onWebhook?: WebhookDeps["onDelivery"];
}): Promise<RunningServer> {
  const { engine, log } = options;
  const providers = loadWebhookSecrets(options.webhooks ?? {}, options.registerSecret ?? (() => {}));
  const intake = new WebhookIntake({
    store: engine.store,
    environments: engine.environments,
    now: () => new Date(),
    onError: (err) => log.warn({ err }, "cannot leave a webhook's request for the daemon"),
  });
  // Closing the server ends the dashboard's event streams (they would hold it open) and its watch.
  const closed = new AbortController();
  const app = createApp({
    api: enginePorts(options.engine),
    dashboard: { secureCookies: options.settings.tls !== undefined, closed: closed.signal },
    authenticate: options.authenticate,
    anonymousRead: options.settings.anonymousRead,
    log: options.log,
    ...(options.telemetry ? { telemetry: options.telemetry } : {}),
    webhooks: { providers, intake, ...(options.onWebhook ? { onDelivery: options.onWebhook } : {}) },
    ...(options.version ? { version: options.version } : {}),
  });
  const server = await startServer(app.fetch, options.settings);
  return {
    ...server,
    close: () => {
      closed.abort();
      intake.close();
      return server.close();
    },
  };
}
