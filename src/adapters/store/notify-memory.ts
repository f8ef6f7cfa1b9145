import type { NewNotification, Notification, NotificationStore } from "./port";
import { checkedNotification } from "./notify-rows";
import { epochMs, positiveInteger } from "./validate";

// The notifications outbox in memory, with the SQLite store's semantics.

export interface NotifyMemoryState {
  marks: Map<string, string>;
  outboxSeq: number;
  /** By id. */
  outbox: Map<number, Notification>;
}

export function newNotifyMemoryState(): NotifyMemoryState {
  return { marks: new Map(), outboxSeq: 0, outbox: new Map() };
}

export function memoryNotificationStore(state: NotifyMemoryState): NotificationStore {
  const copy = structuredClone;
  const dueMs = (n: Notification) => epochMs(n.nextAttemptAt, "nextAttemptAt");
  return {
    async notifyMarks() {
      return Object.fromEntries(state.marks);
    },
    async queueNotifications(notifications: NewNotification[], marks: Record<string, string>) {
      const checked = notifications.map(checkedNotification);
      let added = 0;
      for (const n of checked) {
        const queued = [...state.outbox.values()].some((o) => o.key === n.key && o.sink === n.sink);
        if (queued) continue;
        const id = ++state.outboxSeq;
        state.outbox.set(id, { ...n, id, attempts: 0, nextAttemptAt: n.at });
        added++;
      }
      for (const [name, value] of Object.entries(marks)) state.marks.set(name, value);
      return added;
    },
    async claimNotifications(now: string, holdUntil: string, limit: number) {
      const nowMs = epochMs(now, "now");
      epochMs(holdUntil, "holdUntil");
      const due = [...state.outbox.values()]
        .filter((n) => n.deliveredAt === undefined && dueMs(n) <= nowMs)
        .sort((a, b) => dueMs(a) - dueMs(b) || a.id - b.id)
        .slice(0, positiveInteger(limit, "limit"));
      for (const n of due) {
        n.attempts++;
        n.nextAttemptAt = holdUntil;
      }
      return copy(due);
    },
    async notificationDelivered(id: number, at: string) {
      epochMs(at, "at");
      const n = state.outbox.get(id);
      if (!n || n.deliveredAt !== undefined) return false;
      n.deliveredAt = at;
      return true;
    },
    async notificationFailed(id: number, error: string, nextAttemptAt: string) {
      epochMs(nextAttemptAt, "nextAttemptAt");
      const n = state.outbox.get(id);
      if (!n || n.deliveredAt !== undefined) return;
      n.lastError = error;
      n.nextAttemptAt = nextAttemptAt;
    },
    async notifications(limit: number) {
      const all = [...state.outbox.values()].sort((a, b) => b.id - a.id);
      return copy(all.slice(0, positiveInteger(limit, "limit")));
    },
  };
}
