import type { Notification, Store } from "../../adapters/store/port";
import type { NotifyEvent } from "./event";

// Delivers the outbox: claims what is due, sends each to its sink, and marks it delivered, or records
// the error and when to try again (exponential backoff). A claim holds a row while it is sent, so a
// second sender skips it; a row survives a restart until its sink takes it.

export interface Sink {
  send(event: NotifyEvent): Promise<void>;
}

export interface SenderOptions {
  store: Pick<Store, "claimNotifications" | "notificationDelivered" | "notificationFailed">;
  sinks: ReadonlyMap<string, Sink>;
  now: () => Date;
  /** Masks known secrets in an error before it is stored or logged. */
  redact: (text: string) => string;
  onError?: (notification: Notification, error: string, retryAt: string) => void;
  onDelivered?: (notification: Notification) => void;
  backoff?: { initialMs: number; maxMs: number };
  /** How long a claimed row stays skipped by others while it is sent. */
  holdMs?: number;
  batch?: number;
}

const DEFAULT_BACKOFF = { initialMs: 1000, maxMs: 10 * 60_000 };
/** A row for a sink no longer configured waits this long before it is looked at again. */
const NO_SINK_MS = 60 * 60_000;

/** The wait before attempt `attempts + 1`: initial, doubling, capped. */
export function backoffMs(attempts: number, backoff = DEFAULT_BACKOFF): number {
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, attempts - 1));
}

export class Sender {
  constructor(private readonly options: SenderOptions) {}

  /** Sends what is due now; returns how many were delivered. */
  async deliverDue(): Promise<number> {
    const { store, now } = this.options;
    const start = now();
    const hold = new Date(start.getTime() + (this.options.holdMs ?? 60_000)).toISOString();
    const due = await store.claimNotifications(start.toISOString(), hold, this.options.batch ?? 20);
    let delivered = 0;
    for (const notification of due) {
      const sink = this.options.sinks.get(notification.sink);
      try {
        if (!sink) throw new Error(`the sink ${notification.sink} is no longer configured`);
        await sink.send(JSON.parse(notification.body) as NotifyEvent);
      } catch (err) {
        const wait = sink ? backoffMs(notification.attempts, this.options.backoff) : NO_SINK_MS;
        const retryAt = new Date(now().getTime() + wait).toISOString();
        const error = this.options.redact((err as Error).message);
        await store.notificationFailed(notification.id, error, retryAt);
        this.options.onError?.(notification, error, retryAt);
        continue;
      }
      if (await store.notificationDelivered(notification.id, now().toISOString())) {
        delivered++;
        this.options.onDelivered?.(notification);
      }
    }
    return delivered;
  }
}
