import type pg from "pg";
import { checkedNotification, notificationFromRow, text } from "../notify-rows";
import type { NewNotification, Notification, NotificationStore } from "../port";
import type { Row } from "../rows";
import { epochMs, positiveInteger } from "../validate";
import { transaction } from "./pool";

// The notifications outbox on PostgreSQL. Senders on several replicas claim with SKIP LOCKED, so two
// never take the same notification and neither waits for the other.

export function postgresNotificationStore(pool: pg.Pool): NotificationStore {
  return {
    async notifyMarks(): Promise<Record<string, string>> {
      const { rows } = await pool.query<Row>("SELECT name, value FROM notify_marks");
      return Object.fromEntries(rows.map((row) => [text(row.name), text(row.value)]));
    },

    async queueNotifications(
      notifications: NewNotification[],
      marks: Record<string, string>,
    ): Promise<number> {
      const checked = notifications.map(checkedNotification);
      return transaction(pool, async (client) => {
        let added = 0;
        for (const n of checked) {
          const { rowCount } = await client.query(
            `INSERT INTO notify_outbox (key, sink, body, at, next_at, next_ms) VALUES ($1, $2, $3, $4, $4, $5)
             ON CONFLICT (key, sink) DO NOTHING`,
            [n.key, n.sink, n.body, n.at, epochMs(n.at, "at")],
          );
          added += rowCount ?? 0;
        }
        for (const [name, value] of Object.entries(marks)) {
          await client.query(
            "INSERT INTO notify_marks (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            [name, value],
          );
        }
        return added;
      });
    },

    async claimNotifications(now: string, holdUntil: string, limit: number): Promise<Notification[]> {
      const nowMs = epochMs(now, "now");
      const holdMs = epochMs(holdUntil, "holdUntil");
      const { rows } = await pool.query<Row>(
        `WITH due AS (
           SELECT id, next_ms FROM notify_outbox WHERE delivered_at IS NULL AND next_ms <= $1
           ORDER BY next_ms, id LIMIT $2 FOR UPDATE SKIP LOCKED)
         UPDATE notify_outbox o SET attempts = o.attempts + 1, next_at = $3, next_ms = $4
         FROM due WHERE o.id = due.id
         RETURNING o.*, due.next_ms AS due_ms`,
        [nowMs, positiveInteger(limit, "limit"), holdUntil, holdMs],
      );
      return rows
        .sort((a, b) => Number(a.due_ms) - Number(b.due_ms) || Number(a.id) - Number(b.id))
        .map(notificationFromRow);
    },

    async notificationDelivered(id: number, at: string): Promise<boolean> {
      epochMs(at, "at");
      const { rowCount } = await pool.query(
        "UPDATE notify_outbox SET delivered_at = $1 WHERE id = $2 AND delivered_at IS NULL",
        [at, id],
      );
      return rowCount === 1;
    },

    async notificationFailed(id: number, error: string, nextAttemptAt: string): Promise<void> {
      await pool.query(
        "UPDATE notify_outbox SET last_error = $1, next_at = $2, next_ms = $3 WHERE id = $4 AND delivered_at IS NULL",
        [error, nextAttemptAt, epochMs(nextAttemptAt, "nextAttemptAt"), id],
      );
    },

    async notifications(limit: number): Promise<Notification[]> {
      const { rows } = await pool.query<Row>("SELECT * FROM notify_outbox ORDER BY id DESC LIMIT $1", [
        positiveInteger(limit, "limit"),
      ]);
      return rows.map(notificationFromRow);
    },
  };
}
