import pg from "pg";
import type { RequestWatchHandlers } from "../port";
import { clientConfig, type PostgresSettings } from "./pool";

// LISTEN for the requests addRequest announces, on a connection of its own: a pooled one would be
// handed to other queries and returned, and a LISTEN lives as long as its session.

/** The channel addRequest notifies in the insert's transaction; the payload is the seq, nothing else. */
export const REQUESTS_CHANNEL = "tidegate_requests";

/** The listener's application_name. */
export const LISTENER_NAME = "tidegate-listener";

export interface ListenOptions {
  /** The wait before the first reconnection, doubling up to `retryMaxMs` (default 500 ms to 15 s). */
  retryInitialMs?: number;
  retryMaxMs?: number;
}

/**
 * Listens until the returned function is called. A lost connection (a server restart, the network,
 * its backend terminated) is reported once, then reconnected with back-off; each connection wakes
 * the caller once it listens, since notifications sent while none listened are lost.
 */
export async function listenForRequests(
  settings: PostgresSettings,
  handlers: RequestWatchHandlers,
  options: ListenOptions = {},
): Promise<() => Promise<void>> {
  const listener = new RequestListener(settings, handlers, options);
  await listener.connect();
  return () => listener.stop();
}

class RequestListener {
  private client: pg.Client | undefined;
  private stopped = false;
  private failing = false;
  private attempts = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly settings: PostgresSettings,
    private readonly handlers: RequestWatchHandlers,
    private readonly options: ListenOptions,
  ) {}

  async connect(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    const client = new pg.Client({
      ...clientConfig(this.settings),
      // Told apart from the pool's connections in pg_stat_activity.
      application_name: LISTENER_NAME,
      // A peer gone without a word (a host down, a cut network) is noticed by TCP, not by waiting.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    client.on("notification", () => this.handlers.onWake());
    client.on("error", (error) => this.lost(client, error));
    client.on("end", () =>
      this.lost(client, new Error("the store's connection for request notifications ended")),
    );
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${REQUESTS_CHANNEL}`);
    } catch (error) {
      this.lost(client, error);
      return;
    }
    if (this.client !== client) return; // lost (or stopped) while it was connecting
    this.failing = false;
    this.attempts = 0;
    this.handlers.onWake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  /** The connection failed or ended: reported once per outage, and tried again after a while. */
  private lost(client: pg.Client, error: unknown): void {
    if (this.client !== client) return; // already handled, or stopped
    this.client = undefined;
    client.end().catch(() => undefined);
    if (this.stopped) return;
    if (!this.failing) this.handlers.onError(error);
    this.failing = true;
    const initial = this.options.retryInitialMs ?? 500;
    const waitMs = Math.min(initial * 2 ** this.attempts++, this.options.retryMaxMs ?? 15_000);
    this.timer = setTimeout(() => void this.connect(), waitMs);
  }
}
