import type { DatabaseSync } from "node:sqlite";
import { immediate } from "./database";
import type { NewNotification, Notification, NotificationStore } from "./port";
import { checkedNotification, notificationFromRow, text } from "./notify-rows";
import { epochMs, positiveInteger } from "./validate";

// The notifications outbox on SQLite: queueing and the detector's marks share one transaction.

type Synchronous<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => Promise<infer R> ? (...args: A) => R : T[K];
};

export function sqliteNotificationStore(db: DatabaseSync): Synchronous<NotificationStore> {
  const sql = {
    marks: db.prepare("SELECT name, value FROM notify_marks"),
    setMark: db.prepare(
      "INSERT INTO notify_marks (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    ),
    queue: db.prepare(
      `INSERT INTO notify_outbox (key, sink, body, at, next_at, next_ms) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (key, sink) DO NOTHING`,
    ),
    due: db.prepare(
      `SELECT * FROM notify_outbox WHERE delivered_at IS NULL AND next_ms <= ? ORDER BY next_ms, id LIMIT ?`,
    ),
    hold: db.prepare(
      "UPDATE notify_outbox SET attempts = attempts + 1, next_at = ?, next_ms = ? WHERE id = ?",
    ),
    delivered: db.prepare("UPDATE notify_outbox SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL"),
    failed: db.prepare(
      "UPDATE notify_outbox SET last_error = ?, next_at = ?, next_ms = ? WHERE id = ? AND delivered_at IS NULL",
    ),
    newest: db.prepare("SELECT * FROM notify_outbox ORDER BY id DESC LIMIT ?"),
  };
  return {
    notifyMarks(): Record<string, string> {
      return Object.fromEntries(sql.marks.all().map((row) => [text(row.name), text(row.value)]));
    },
    queueNotifications(notifications: NewNotification[], marks: Record<string, string>): number {
      const checked = notifications.map(checkedNotification);
      return immediate(db, () => {
        let added = 0;
        for (const n of checked) {
          const ms = epochMs(n.at, "at");
          added += Number(sql.queue.run(n.key, n.sink, n.body, n.at, n.at, ms).changes);
        }
        for (const [name, value] of Object.entries(marks)) sql.setMark.run(name, value);
        return added;
      });
    },
    claimNotifications(now: string, holdUntil: string, limit: number): Notification[] {
      const nowMs = epochMs(now, "now");
      const holdMs = epochMs(holdUntil, "holdUntil");
      return immediate(db, () =>
        sql.due.all(nowMs, positiveInteger(limit, "limit")).map((row) => {
          sql.hold.run(holdUntil, holdMs, row.id as number);
          return {
            ...notificationFromRow(row),
            attempts: Number(row.attempts) + 1,
            nextAttemptAt: holdUntil,
          };
        }),
      );
    },
    notificationDelivered(id: number, at: string): boolean {
      epochMs(at, "at");
      return Number(sql.delivered.run(at, id).changes) === 1;
    },
    notificationFailed(id: number, error: string, nextAttemptAt: string): void {
      sql.failed.run(error, nextAttemptAt, epochMs(nextAttemptAt, "nextAttemptAt"), id);
    },
    notifications(limit: number): Notification[] {
      return sql.newest.all(positiveInteger(limit, "limit")).map(notificationFromRow);
    },
  };
}
