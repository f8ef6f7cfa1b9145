import * as fs from "node:fs";

import { post } from "../../adapters/notify/http";
import type { Store } from "../../adapters/store/port";
import type { NotificationsConfig, NotifyEventName, NotifySecret } from "../../config/schema";
import { parseDuration } from "../../gates/duration";
import { TidegateError } from "../../domain/errors";
import type { Logger } from "../../log";
import { Redactor } from "../../log/redact";
import type { AuditPort } from "../ports";
import { Detector, type StaleTiming } from "./detect";
import type { NotifyEvent } from "./event";
import { render } from "./format";
import { Sender, type Sink } from "./sender";

// Notifications in the daemon: the detector and the sender, each on its own timer, started and
// stopped with `tidegate run`. Sink URLs and signing secrets are read once, at start, and join the
// known secrets (masked in logs, the store and the messages themselves).

export interface NotifierOptions {
  config: NotificationsConfig;
  store: Store;
  audit: Pick<AuditPort, "entries">;
  log: Logger;
  /** Known secrets: the sinks' URLs and keys are added. */
  secrets: { add(value: string): void } & Iterable<string>;
  /** The dashboard's root, ending in "/". */
  publicUrl: string;
  now?: () => Date;
  /** How often the store is looked at, and the outbox sent. */
  pollMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  /** Counts each delivery attempt by sink (the metrics). */
  onAttempt?: (sink: string, outcome: "sent" | "failed") => void;
}

const DEFAULT_STALE = "24h";

export class Notifier {
  private readonly detector: Detector;
  private readonly sender: Sender;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: NotifierOptions) {
    const { config, store, log, secrets } = options;
    const now = options.now ?? (() => new Date());
    const redactor = () => new Redactor({ secrets, stacks: false });
    const sinks = new Map<string, Sink>();
    for (const [name, sink] of Object.entries(config.sinks)) {
      const url = readSecret(sink.url, `notifications.sinks.${name}.url`);
      secrets.add(url);
      const secret =
        sink.kind === "webhook" && sink.secret
          ? readSecret(sink.secret, `notifications.sinks.${name}.secret`)
          : undefined;
      if (secret !== undefined) secrets.add(secret);
      sinks.set(name, {
        send: (event) =>
          post({
            url,
            body: render(sink.kind, event),
            id: event.key,
            kind: event.name,
            ...(secret === undefined ? {} : { secret }),
          }),
      });
    }
    for (const route of config.routes ?? []) {
      for (const sink of route.sinks) {
        if (!sinks.has(sink)) {
          throw new TidegateError(
            "invalid",
            `tidegate.yaml: notifications.routes names the sink '${sink}', which notifications.sinks does not define (it has: ${[...sinks.keys()].join(", ") || "none"})`,
          );
        }
      }
    }
    this.detector = new Detector({
      store,
      audit: options.audit,
      route: (event) => routeOf(config, [...sinks.keys()], event),
      stale: (name) => staleTiming(config, name),
      link: (env) => `${options.publicUrl}environments/${encodeURIComponent(env)}`,
      redact: (event) => redactor().value(event) as typeof event,
      now,
    });
    this.sender = new Sender({
      store,
      sinks,
      now,
      redact: (text) => redactor().text(text),
      ...(options.backoff ? { backoff: options.backoff } : {}),
      onError: (n, error, retryAt) => {
        options.onAttempt?.(n.sink, "failed");
        log.warn(
          { sink: n.sink, event: n.key, attempts: n.attempts, retryAt, error },
          "a notification was not delivered; it will be retried",
        );
      },
      onDelivered: (n) => {
        options.onAttempt?.(n.sink, "sent");
        log.info({ sink: n.sink, event: n.key }, "notification delivered");
      },
    });
  }

  /** Looks and sends every pollMs until stop(). */
  start(): void {
    const every = this.options.pollMs ?? 1500;
    const tick = () => {
      this.running = this.once().finally(() => {
        this.running = undefined;
        if (this.timer !== undefined) this.timer = setTimeout(tick, every);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  /** One detector pass and one delivery pass; errors are logged, never thrown. */
  async once(): Promise<void> {
    try {
      await this.detector.poll();
    } catch (err) {
      this.options.log.error({ err }, "notifications: looking for events failed");
    }
    try {
      await this.sender.deliverDue();
    } catch (err) {
      this.options.log.error({ err }, "notifications: delivering failed");
    }
  }

  async stop(): Promise<void> {
    const timer = this.timer;
    this.timer = undefined;
    if (timer) clearTimeout(timer);
    await this.running;
  }
}

/** The sinks an event goes to: every sink when no route is configured. */
export function routeOf(config: NotificationsConfig, sinks: string[], event: NotifyEvent): string[] {
  if (!config.routes) return sinks;
  const out = new Set<string>();
  for (const route of config.routes) {
    if (route.environments && !route.environments.includes(event.environment)) continue;
    if (
      route.events &&
      !route.events.includes(event.name) &&
      !(event.name === "stale" && staleOf(route, event))
    )
      continue;
    for (const sink of route.sinks) out.add(sink);
  }
  return [...out];
}

/** A route for a status also takes its reminders (e.g. events: [AwaitingApproval]). */
function staleOf(route: { events?: NotifyEventName[] }, event: NotifyEvent): boolean {
  return route.events?.some((name) => name === event.status) ?? false;
}

export function staleTiming(config: NotificationsConfig, name: NotifyEventName): StaleTiming | undefined {
  const stale = config.stale;
  if (!stale) return undefined;
  const own = (
    stale.statuses as Record<string, { after?: string; every?: string } | undefined> | undefined
  )?.[name];
  const after = own?.after ?? stale.after ?? DEFAULT_STALE;
  const every = own?.every ?? stale.every ?? DEFAULT_STALE;
  return { afterMs: parseDuration(after) ?? 0, everyMs: Math.max(1000, parseDuration(every) ?? 0) };
}

function readSecret(source: NotifySecret, field: string): string {
  if (source.env !== undefined) {
    const value = process.env[source.env]?.trim();
    if (!value)
      throw new TidegateError(
        "invalid",
        `tidegate.yaml: ${field}: the variable ${source.env} is not set (or empty)`,
      );
    return value;
  }
  const file = source.file ?? "";
  let value: string;
  try {
    value = fs.readFileSync(file, "utf8").trim();
  } catch (err) {
    const problem = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new TidegateError("invalid", `tidegate.yaml: ${field}: cannot read ${file}: ${problem}`, {
      cause: err,
    });
  }
  if (value === "") throw new TidegateError("invalid", `tidegate.yaml: ${field}: the file ${file} is empty`);
  return value;
}
