import { Notifier } from "../app/notify/service";
import type { RunningServer } from "../server";
import type { EngineSession } from "./context";

/**
 * The notifier of `tidegate run`, when tidegate.yaml configures notifications; links go to
 * server.publicUrl, else to the address the API listens on.
 */
export function startNotifications(
  session: EngineSession,
  api: RunningServer | undefined,
): Notifier | undefined {
  const { config, engine } = session;
  if (!config.notifications) return undefined;
  const origin = api
    ? new URL(api.url).origin
    : `${config.server.tls ? "https" : "http"}://${config.server.host}:${config.server.port}`;
  const publicUrl = config.server.publicUrl ?? `${origin}/`;
  const notifier = new Notifier({
    config: config.notifications,
    store: engine.store,
    audit: engine.audit,
    log: session.log,
    secrets: session.knownSecrets,
    publicUrl,
    onAttempt: (sink, outcome) => session.telemetry.notification(sink, outcome),
  });
  notifier.start();
  return notifier;
}
