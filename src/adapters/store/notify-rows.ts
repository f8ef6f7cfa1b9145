import type { SQLOutputValue } from "node:sqlite";
import { StoreError } from "./errors";
import type { NewNotification } from "./port";
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

export function text(value: SQLOutputValue): string {
  return String(value);
}
