import { StoreError } from "./errors";
import type { NewNotification, Notification } from "./port";
import type { Row } from "./rows";
import { epochMs, nonEmpty } from "./validate";

/** A notification as queued: key, sink and body present, `at` a time. */
export function checkedNotification(n: NewNotification): NewNotification {
  nonEmpty(n.key, "notification key");
  nonEmpty(n.sink, "notification sink");
  if (typeof n.body !== "string")
    throw new StoreError("invalid-input", "a notification's body must be a string");
  epochMs(n.at, "at");
  return { key: n.key, sink: n.sink, body: n.body, at: n.at };
}

export function text(value: unknown): string {
  return String(value);
}

/** An outbox row as a notification. */
export function notificationFromRow(row: Row): Notification {
  return {
    id: Number(row.id),
    key: text(row.key),
    sink: text(row.sink),
    body: text(row.body),
    at: text(row.at),
    attempts: Number(row.attempts),
    nextAttemptAt: text(row.next_at),
    ...(row.last_error === null ? {} : { lastError: text(row.last_error) }),
    ...(row.delivered_at === null ? {} : { deliveredAt: text(row.delivered_at) }),
  };
}
