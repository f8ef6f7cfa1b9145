import type { Engine } from "../app/engine";
import type { ServerSettings } from "../config/resolve";
import type { Logger } from "../log";
import { createApp } from "./app";
import type { TelemetryRoutes } from "./metrics";
import type { Authenticate } from "./auth";
import { enginePorts } from "./engine-ports";
import { type RunningServer, startServer } from "./listen";

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
}): Promise<RunningServer> {
  // Closing the server ends the dashboard's event streams (they would hold it open) and its watch.
  const closed = new AbortController();
  const app = createApp({
    api: enginePorts(options.engine),
    dashboard: { secureCookies: options.settings.tls !== undefined, closed: closed.signal },
    authenticate: options.authenticate,
    anonymousRead: options.settings.anonymousRead,
    log: options.log,
    ...(options.telemetry ? { telemetry: options.telemetry } : {}),
    ...(options.version ? { version: options.version } : {}),
  });
  const server = await startServer(app.fetch, options.settings);
  return {
    ...server,
    close: () => {
      closed.abort();
      return server.close();
    },
  };
}
