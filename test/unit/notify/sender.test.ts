import { describe, expect, it } from "vitest";
import { openMemoryStore } from "../../../src/adapters/store/memory";
import { backoffMs, Sender, type Sink } from "../../../src/app/notify/sender";
import type { NotifyEvent } from "../../../src/app/notify/event";

const T0 = Date.parse("2025-03-04T09:00:00.000Z");

describe("the notification sender", () => {
  it("retries with exponential backoff while a sink is down, then delivers once", async () => {
    const store = openMemoryStore();
    const clock = { ms: T0 };
    let down = 3;
    const got: string[] = [];
    const sink: Sink = {
      send: async (event: NotifyEvent) => {
        if (down-- > 0)
          throw new Error("the sink answered 503 Service Unavailable at https://hooks.example/SECRET");
        got.push(event.key);
      },
    };
    const sender = new Sender({
      store,
      sinks: new Map([["slack", sink]]),
      now: () => new Date(clock.ms),
      redact: (text) => text.replaceAll("SECRET", "***"),
      backoff: { initialMs: 1000, maxMs: 3000 },
    });
    await store.queueNotifications(
      [{ key: "e1", sink: "slack", body: JSON.stringify({ key: "e1" }), at: new Date(T0).toISOString() }],
      {},
    );
    const waits: number[] = [];
    for (let i = 0; i < 10 && got.length === 0; i++) {
      const [before] = await store.notifications(1);
      if ((await sender.deliverDue()) === 0) {
        const [after] = await store.notifications(1);
        waits.push(Date.parse(after!.nextAttemptAt) - clock.ms);
        expect(after!.lastError).toContain("503");
        expect(after!.lastError).not.toContain("SECRET");
        expect(before!.attempts + 1).toBe(after!.attempts);
        clock.ms = Date.parse(after!.nextAttemptAt) - 1;
        expect(await sender.deliverDue()).toBe(0); // not yet due
        clock.ms += 1;
      }
    }
    expect(waits).toEqual([1000, 2000, 3000]);
    expect(got).toEqual(["e1"]);
    clock.ms += 86_400_000;
    expect(await sender.deliverDue()).toBe(0);
    expect(got).toEqual(["e1"]);
    expect(backoffMs(1)).toBe(1000);
    expect(backoffMs(30)).toBe(600_000);
  });
});
