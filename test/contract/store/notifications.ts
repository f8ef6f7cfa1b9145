import { describe, expect, it } from "vitest";
import type { NewNotification } from "../../../src/adapters/store/port";
import { secondHandle, storeError, useStore, type StoreFactory } from "./harness";

// The notifications outbox: queued with the detector's marks at once, claimed, retried, delivered once.

const at = (second: number) => `2025-03-04T09:00:${String(second).padStart(2, "0")}.000Z`;
const note = (key: string, sink = "slack", overrides: Partial<NewNotification> = {}): NewNotification => ({
  key,
  sink,
  body: JSON.stringify({ key }),
  at: at(0),
  ...overrides,
});

export function notificationsContract(factory: StoreFactory): void {
  const handles = useStore(factory);

  describe("notifications", () => {
    it("queue with their marks in one step, and a key queued before for a sink is not queued again", async () => {
      const store = await handles.open();
      expect(await store.notifyMarks()).toEqual({});
      expect(
        await store.queueNotifications([note("a"), note("a", "hook")], { "status:prod": "Drifted" }),
      ).toBe(2);
      expect(
        await store.queueNotifications([note("a"), note("b")], { "status:prod": "Synced", audit: "3" }),
      ).toBe(1);
      expect(await store.notifyMarks()).toEqual({ "status:prod": "Synced", audit: "3" });
      expect((await store.notifications(10)).map((n) => `${n.key}/${n.sink}`)).toEqual([
        "b/slack",
        "a/hook",
        "a/slack",
      ]);
    });

    it("are claimed once while held, retried when due, and delivered once", async (ctx) => {
      const a = await handles.open();
      const b = await secondHandle(handles, ctx);
      await a.queueNotifications([note("a"), note("b", "slack", { at: at(5) })], {});
      const claimed = await a.claimNotifications(at(1), at(31), 10);
      expect(claimed.map((n) => [n.key, n.attempts, n.nextAttemptAt])).toEqual([["a", 1, at(31)]]);
      expect(await b.claimNotifications(at(10), at(40), 10)).toMatchObject([{ key: "b" }]); // a is held
      await a.notificationFailed(claimed[0]!.id, "503 Service Unavailable", at(20));
      expect(await b.claimNotifications(at(19), at(50), 10)).toEqual([]);
      const again = await b.claimNotifications(at(20), at(50), 10);
      expect(again).toMatchObject([{ key: "a", attempts: 2, lastError: "503 Service Unavailable" }]);
      expect(await b.notificationDelivered(again[0]!.id, at(21))).toBe(true);
      expect(await a.notificationDelivered(again[0]!.id, at(22))).toBe(false);
      expect(await a.claimNotifications(at(59), at(59), 10)).toMatchObject([{ key: "b" }]);
      const [latest] = (await a.notifications(10)).filter((n) => n.key === "a");
      expect(latest).toMatchObject({ deliveredAt: at(21), attempts: 2 });
    });

    it("refuse a notification without a time", async () => {
      const store = await handles.open();
      expect(await storeError(() => store.queueNotifications([note("a", "slack", { at: "soon" })], {}))).toBe(
        "invalid-input",
      );
      expect(await store.notifications(10)).toEqual([]);
    });
  });
}
