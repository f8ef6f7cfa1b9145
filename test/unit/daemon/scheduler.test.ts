import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Scheduler, type JobConfig, type SchedulerOptions } from "../../../src/daemon/scheduler";
import { SingleFlight } from "../../../src/app/single-flight";

const EVERY_SECOND = "* * * * * *";
// Never fires during a test: jobs that only run through runNow.
const YEARLY = "0 0 0 1 1 *";
const WAIT = { timeout: 5_000, interval: 20 };

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((res) => (resolve = res));
  return { promise, resolve };
}

const schedulers: Scheduler[] = [];
afterEach(async () => {
  await Promise.all(schedulers.splice(0).map((s) => s.stop({ timeoutMs: 1_000 })));
});

/** A scheduler that records failures and skips, stopped after each test. */
function setup(options: Partial<SchedulerOptions> = {}) {
  const errors: { job: string; error: unknown }[] = [];
  const skips: { job: string; reason: string }[] = [];
  const scheduler = new Scheduler({
    onError: (job, error) => errors.push({ job: job.name, error }),
    onSkip: (job, reason) => skips.push({ job: job.name, reason }),
    ...options,
  });
  schedulers.push(scheduler);
  return { scheduler, errors, skips };
}

function job(name: string, run: JobConfig["run"], extra: Partial<JobConfig> = {}): JobConfig {
  return { name, cron: YEARLY, run, ...extra };
}

describe("Scheduler", () => {
  it("keeps running other jobs and later ticks when a job fails", async () => {
    const { scheduler, errors } = setup();
    let failing = 0;
    let healthy = 0;
    scheduler.add(
      job(
        "test:drift",
        async () => {
          failing++;
          throw new Error(`failure ${failing}`);
        },
        { cron: EVERY_SECOND },
      ),
    );
    scheduler.add(job("stage:drift", async () => void healthy++, { cron: EVERY_SECOND }));
    scheduler.start();

    await vi.waitFor(() => {
      expect(failing).toBeGreaterThanOrEqual(2);
      expect(healthy).toBeGreaterThanOrEqual(2);
    }, WAIT);
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(errors.every((e) => e.job === "test:drift")).toBe(true);
    expect(errors.map((e) => (e.error as Error).message).slice(0, 2)).toEqual(["failure 1", "failure 2"]);
  });

  it("stop() aborts the signal, waits for the run in progress and fires no tick afterwards", async () => {
    const { scheduler, skips } = setup();
    const gate = deferred();
    const events: string[] = [];
    let runs = 0;
    let seen: AbortSignal | undefined;
    scheduler.add(
      job(
        "test:poll",
        async (signal) => {
          runs++;
          seen = signal;
          events.push("start");
          await gate.promise;
          // The job decides: it finishes its update, then starts nothing new.
          events.push(signal.aborted ? "finished, nothing new" : "finished");
        },
        { cron: EVERY_SECOND },
      ),
    );
    scheduler.start();
    await vi.waitFor(() => expect(runs).toBe(1), WAIT);
    expect(scheduler.running()).toEqual(["test:poll"]);

    const stopping = scheduler.stop().then((result) => {
      events.push("stopped");
      return result;
    });
    await sleep(50);
    expect(seen?.aborted).toBe(true);
    expect(events).toEqual(["start"]);

    gate.resolve();
    expect(await stopping).toEqual({ stillRunning: [] });
    expect(events).toEqual(["start", "finished, nothing new", "stopped"]);

    // Ticks while the run was in progress were skipped as busy; after stop, none at all.
    const ticks = runs + skips.length;
    await sleep(1_500);
    expect(runs + skips.length).toBe(ticks);
    expect(scheduler.running()).toEqual([]);
  });

  it("stop() with a timeout resolves and names the jobs still running", async () => {
    const { scheduler } = setup();
    const gate = deferred();
    scheduler.add(job("prod:sync", () => gate.promise));
    const run = scheduler.runNow("prod:sync");

    expect(await scheduler.stop({ timeoutMs: 50 })).toEqual({ stillRunning: ["prod:sync"] });
    gate.resolve();
    expect(await run).toEqual({ status: "succeeded" });
    expect(scheduler.running()).toEqual([]);
  });

  it("runNow goes through single-flight: jobs on the same stack skip while one runs", async () => {
    const { scheduler, skips } = setup();
    const gate = deferred();
    let drifts = 0;
    scheduler.add(job("test:poll", () => gate.promise, { key: "stack:test" }));
    scheduler.add(job("test:drift", async () => void drifts++, { key: "stack:test" }));
    scheduler.add(job("prod:drift", async () => undefined, { key: "stack:prod" }));

    const poll = scheduler.runNow("test:poll");
    expect(await scheduler.runNow("test:poll")).toEqual({ status: "skipped", reason: "busy" });
    expect(await scheduler.runNow("test:drift")).toEqual({ status: "skipped", reason: "busy" });
    expect(await scheduler.runNow("prod:drift")).toEqual({ status: "succeeded" });
    expect(skips).toEqual([
      { job: "test:poll", reason: "busy" },
      { job: "test:drift", reason: "busy" },
    ]);

    gate.resolve();
    expect(await poll).toEqual({ status: "succeeded" });
    expect(await scheduler.runNow("test:drift")).toEqual({ status: "succeeded" });
    expect(drifts).toBe(1);
  });

  it("shares single-flight with the CLI: a command holding the stack makes the job skip", async () => {
    const flights = new SingleFlight();
    const { scheduler } = setup({ singleFlight: flights });
    scheduler.add(job("test:drift", async () => undefined, { key: "stack:test" }));
    const gate = deferred();
    const command = flights.run("stack:test", () => gate.promise, { wait: true });

    expect(await scheduler.runNow("test:drift")).toEqual({ status: "skipped", reason: "busy" });
    gate.resolve();
    await command;
    expect(await scheduler.runNow("test:drift")).toEqual({ status: "succeeded" });
  });

  it("runNow reports a failure through onError and its result, and rejects unknown jobs", async () => {
    const { scheduler, errors } = setup();
    const boom = new Error("backend unreachable");
    scheduler.add(job("test:drift", () => Promise.reject(boom)));

    expect(await scheduler.runNow("test:drift")).toEqual({ status: "failed", error: boom });
    expect(errors).toEqual([{ job: "test:drift", error: boom }]);
    await expect(scheduler.runNow("nope")).rejects.toThrow('unknown job "nope"');
  });

  it("a throwing onError does not break the scheduler", async () => {
    const { scheduler } = setup({
      onError: () => {
        throw new Error("reporter down");
      },
    });
    scheduler.add(job("test:drift", () => Promise.reject(new Error("x"))));
    expect(await scheduler.runNow("test:drift")).toMatchObject({ status: "failed" });
  });

  it("waits a jitter drawn from the injected random before scheduled runs, not before runNow", async () => {
    const delays: number[] = [];
    const { scheduler } = setup({
      random: () => 0.5,
      sleep: async (ms) => void delays.push(ms),
    });
    let runs = 0;
    scheduler.add(job("test:drift", async () => void runs++, { cron: EVERY_SECOND, jitterMs: 10_000 }));
    scheduler.add(job("test:poll", async () => undefined, { jitterMs: 10_000 }));

    await scheduler.runNow("test:poll");
    expect(delays).toEqual([]);
    await scheduler.runNow("test:poll", { jitter: true });
    expect(delays).toEqual([5_000]);

    scheduler.start();
    await vi.waitFor(() => expect(runs).toBeGreaterThanOrEqual(1), WAIT);
    expect(delays.slice(0, 2)).toEqual([5_000, 5_000]);
    expect(delays.every((ms) => ms >= 0 && ms <= 10_000)).toBe(true);
  });

  it("skips a run whose jitter wait is cut short by stop()", async () => {
    const { scheduler, skips } = setup({ random: () => 0.5 });
    let runs = 0;
    scheduler.add(job("test:drift", async () => void runs++, { jitterMs: 60_000 }));

    const run = scheduler.runNow("test:drift", { jitter: true });
    expect(scheduler.running()).toEqual(["test:drift"]);
    expect(await scheduler.stop()).toEqual({ stillRunning: [] });
    expect(await run).toEqual({ status: "skipped", reason: "stopped" });
    expect(runs).toBe(0);
    expect(skips).toEqual([{ job: "test:drift", reason: "stopped" }]);
  });

  it("refuses bad jobs with the job's name and the bad value", () => {
    const { scheduler } = setup();
    const run = async () => undefined;
    expect(() => scheduler.add({ name: "test:drift", cron: "every hour", run })).toThrow(
      /job "test:drift": invalid schedule "every hour"/,
    );
    expect(() =>
      scheduler.add({ name: "test:drift", cron: "0 * * * *", timeZone: "Mars/Olympus", run }),
    ).toThrow(/job "test:drift": invalid schedule "0 \* \* \* \*" in time zone "Mars\/Olympus"/);
    expect(() => scheduler.add({ name: "test:drift", cron: "0 * * * *", jitterMs: -1, run })).toThrow(
      /jitterMs must be a number of milliseconds >= 0, got -1/,
    );
    scheduler.add({ name: "test:drift", cron: "0 * * * *", timeZone: "Europe/Paris", run });
    expect(() => scheduler.add({ name: "test:drift", cron: "0 * * * *", run })).toThrow(/already scheduled/);
  });

  it("tells when a job fires next", () => {
    const { scheduler } = setup();
    scheduler.add(job("test:drift", async () => undefined, { cron: "0 */15 * * * *" }));
    const next = scheduler.nextRun("test:drift");
    expect(next).toBeInstanceOf(Date);
    expect(next!.getTime()).toBeGreaterThan(Date.now());
    expect(next!.getMinutes() % 15).toBe(0);
    expect(scheduler.nextRun("nope")).toBeUndefined();
  });

  it("is done once stopped: no new jobs, no restart, runNow skips", async () => {
    const { scheduler } = setup();
    let runs = 0;
    scheduler.add(job("test:drift", async () => void runs++));
    await scheduler.stop();
    expect(await scheduler.runNow("test:drift")).toEqual({ status: "skipped", reason: "stopped" });
    expect(runs).toBe(0);
    expect(() => scheduler.start()).toThrow(/has stopped/);
    expect(() => scheduler.add(job("other", async () => undefined))).toThrow(/has stopped/);
  });
});
