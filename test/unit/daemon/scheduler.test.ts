import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Scheduler, type SchedulerOptions } from "../../../src/daemon/scheduler";

const EVERY_SECOND = "* * * * * *";
const WAIT = { timeout: 5_000, interval: 20 };

const schedulers: Scheduler[] = [];
afterEach(() => {
  for (const s of schedulers.splice(0)) s.stop();
});

function setup(options: SchedulerOptions = {}) {
  const scheduler = new Scheduler(options);
  schedulers.push(scheduler);
  return scheduler;
}

describe("Scheduler", () => {
  it("ticks on its cron schedule, after a jitter drawn from the injected random", async () => {
    const scheduler = setup({ random: () => 0.5 });
    const ticks: number[] = [];
    const tickTimes: number[] = [];
    let firedAt = 0;
    scheduler.add({
      name: "poll:test",
      cron: EVERY_SECOND,
      jitterMs: 400,
      tick: (at) => void (ticks.push(Date.now()), tickTimes.push(at.getTime())),
    });
    scheduler.add({ name: "drift:test", cron: EVERY_SECOND, tick: () => void (firedAt ||= Date.now()) });
    scheduler.start();
    await vi.waitFor(() => expect(ticks.length).toBeGreaterThanOrEqual(1), WAIT);
    // Both fire on the same second; the jittered one 200 ms (0.5 × 400) later.
    expect(ticks[0]! - firedAt).toBeGreaterThanOrEqual(150);
    // It is told the second it was due, before the jitter: the looks of one tick share one listing.
    expect(tickTimes[0]! % 1000).toBe(0);
    expect(ticks[0]! - tickTimes[0]!).toBeGreaterThanOrEqual(150);
    expect(firedAt - tickTimes[0]!).toBeGreaterThanOrEqual(0);
    expect(firedAt - tickTimes[0]!).toBeLessThan(1000);
  });

  it("a throwing tick stops neither its schedule nor the others", async () => {
    const scheduler = setup();
    let calls = 0;
    scheduler.add({
      name: "poll:test",
      cron: EVERY_SECOND,
      tick: () => {
        calls++;
        throw new Error("boom");
      },
    });
    scheduler.start();
    await vi.waitFor(() => expect(calls).toBeGreaterThanOrEqual(2), WAIT);
  });

  it("stop() cancels ticks waiting out their jitter, and is final", async () => {
    const scheduler = setup({ random: () => 0.5 });
    let ticks = 0;
    let fired = false;
    scheduler.add({ name: "poll:test", cron: EVERY_SECOND, jitterMs: 60_000, tick: () => void ticks++ });
    scheduler.add({ name: "probe", cron: EVERY_SECOND, tick: () => void (fired = true) });
    scheduler.start();
    await vi.waitFor(() => expect(fired).toBe(true), WAIT);
    scheduler.stop();
    await sleep(50);
    expect(ticks).toBe(0);
    expect(() => scheduler.start()).toThrow(/has stopped/);
    expect(() => scheduler.add({ name: "other", cron: EVERY_SECOND, tick: () => {} })).toThrow(/has stopped/);
  });

  it("refuses bad schedules with the name and the bad value", () => {
    const scheduler = setup();
    const tick = () => {};
    expect(() => scheduler.add({ name: "drift:test", cron: "every hour", tick })).toThrow(
      /"drift:test": invalid schedule "every hour"/,
    );
    expect(() =>
      scheduler.add({ name: "drift:test", cron: "0 * * * *", timeZone: "Mars/Olympus", tick }),
    ).toThrow(/"drift:test": invalid schedule "0 \* \* \* \*" in time zone "Mars\/Olympus"/);
    expect(() => scheduler.add({ name: "drift:test", cron: "0 * * * *", jitterMs: -1, tick })).toThrow(
      /jitterMs must be a number of milliseconds >= 0, got -1/,
    );
    scheduler.add({ name: "drift:test", cron: "0 * * * *", timeZone: "Europe/Paris", tick });
    expect(() => scheduler.add({ name: "drift:test", cron: "0 * * * *", tick })).toThrow(/already scheduled/);
  });

  it("tells when a tick fires next", () => {
    const scheduler = setup();
    scheduler.add({ name: "drift:test", cron: "0 */15 * * * *", tick: () => {} });
    const next = scheduler.nextTick("drift:test");
    expect(next).toBeInstanceOf(Date);
    expect(next!.getTime()).toBeGreaterThan(Date.now());
    expect(next!.getMinutes() % 15).toBe(0);
    expect(scheduler.nextTick("nope")).toBeUndefined();
  });
});
