import { describe, expect, it } from "vitest";
import {
  covers,
  joinKinds,
  WorkQueue,
  type WorkItem,
  type WorkKind,
  type WorkPriority,
  type WorkQueueOptions,
} from "../../../src/daemon/queue";

/** A runner whose runs end when the test says so; it records what ran, in order, and overlaps. */
function fakeRunner() {
  const started: WorkItem[] = [];
  const pending = new Map<string, { resolve: () => void; reject: (e: unknown) => void }>();
  const active = new Set<string>();
  let overlaps = 0;
  let maxActive = 0;
  const run = (item: WorkItem) =>
    new Promise<void>((resolve, reject) => {
      if (active.has(item.key)) overlaps++;
      active.add(item.key);
      maxActive = Math.max(maxActive, active.size);
      started.push(structuredClone(item));
      const end = () => active.delete(item.key);
      pending.set(item.key, {
        resolve: () => (end(), resolve()),
        reject: (e) => (end(), reject(e)),
      });
    });
  return {
    run,
    started,
    keysStarted: () => started.map((i) => i.key),
    /** Ends the key's run and lets the queue start the next. */
    async finish(key: string, error?: unknown) {
      const p = pending.get(key);
      if (!p) throw new Error(`${key} is not running`);
      pending.delete(key);
      if (error === undefined) p.resolve();
      else p.reject(error);
      await settle();
    },
    overlaps: () => overlaps,
    maxActive: () => maxActive,
  };
}

/** Lets the queue's promise chains run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

const FIXED = new Date("2026-01-01T00:00:00Z");

function setup(options: Partial<WorkQueueOptions> = {}) {
  const runner = fakeRunner();
  const failures: string[] = [];
  const skips: string[] = [];
  const queue = new WorkQueue({
    run: runner.run,
    now: () => FIXED,
    onFailed: (item) => failures.push(item.key),
    onSkipped: (request) => skips.push(`${request.key}:${request.kind}`),
    ...options,
  });
  return { queue, runner, failures, skips };
}

const req = (key: string, kind: WorkKind, priority: WorkPriority = "schedule", reason = `${kind} tick`) => ({
  key,
  kind,
  priority,
  reason,
});

describe("WorkQueue", () => {
  it("coalesces requests for a waiting key: the strongest kind, the highest priority, every reason", async () => {
    const { queue, runner } = setup();
    queue.add(req("busy", "check"));
    await settle();
    expect(queue.add(req("prod", "poll")).outcome).toBe("queued");
    expect(queue.add(req("prod", "poll")).outcome).toBe("merged");
    expect(queue.add(req("prod", "drift", "person", "approved by alice")).outcome).toBe("merged");
    expect(queue.stats()).toMatchObject({ enqueued: 2, coalesced: 2, waiting: 1, inFlight: 1 });

    await runner.finish("busy");
    expect(runner.started[1]).toEqual({
      key: "prod",
      kind: "check",
      priority: "person",
      reasons: ["poll tick", "approved by alice"],
      enqueuedAt: FIXED,
      asOf: FIXED,
    });
    await runner.finish("prod");
    expect(queue.stats()).toMatchObject({ run: 2, failed: 0, waiting: 0, inFlight: 0 });
  });

  it("keeps the newest asOf of the requests it merges: the run reads heads no older than any of them", async () => {
    const { queue, runner } = setup();
    queue.add(req("busy", "check"));
    await settle();
    const tick = (iso: string) => new Date(iso);
    queue.add({ ...req("prod", "poll"), asOf: tick("2025-12-31T23:59:00Z") });
    queue.add({ ...req("prod", "poll"), asOf: tick("2025-12-31T23:59:30Z") });
    queue.add({ ...req("prod", "poll"), asOf: tick("2025-12-31T23:58:00Z") });
    queue.add(req("stage", "poll"));
    await runner.finish("busy");
    expect(runner.started[1]?.asOf).toEqual(tick("2025-12-31T23:59:30Z"));
    await runner.finish("prod");
    // No asOf: the time it arrived.
    expect(runner.started[2]?.asOf).toEqual(FIXED);
    // A request without asOf merged into one with an older asOf: its arrival is the bound.
    queue.add({ ...req("dev", "poll"), asOf: tick("2025-12-31T23:00:00Z") });
    queue.add(req("dev", "poll", "person", "approved"));
    await runner.finish("stage");
    expect(runner.started.find((i) => i.key === "dev")?.asOf).toEqual(FIXED);
  });

  it("runs a person's request before schedule ticks that arrived earlier, and ticks first come first served", async () => {
    const { queue, runner } = setup();
    queue.add(req("busy", "check"));
    await settle();
    queue.add(req("test", "poll"));
    queue.add(req("stage", "poll"));
    queue.add(req("prod", "poll", "person", "approved"));
    expect(queue.queued()).toEqual(["prod", "test", "stage"]);
    // A person's request merged into a waiting tick lifts it, keeping its place in arrival order.
    queue.add(req("stage", "drift", "person", "revoked"));
    expect(queue.queued()).toEqual(["stage", "prod", "test"]);

    for (const key of ["busy", "stage", "prod", "test"]) await runner.finish(key);
    expect(runner.keysStarted()).toEqual(["busy", "stage", "prod", "test"]);
  });

  it("never runs a key concurrently with itself: a person's request in flight runs once after", async () => {
    const { queue, runner } = setup({ workers: 3 });
    const first = queue.add(req("prod", "poll"));
    await settle();
    expect(queue.add(req("prod", "poll", "person", "approved by alice")).outcome).toBe("requeued");
    expect(queue.add(req("prod", "poll", "person", "approved by bob")).outcome).toBe("merged");
    queue.add(req("test", "poll"));
    await settle();
    // A free worker takes another key, never the same one.
    expect(runner.keysStarted()).toEqual(["prod", "test"]);

    await runner.finish("prod");
    expect(await first.done).toEqual({ status: "succeeded" });
    expect(runner.keysStarted()).toEqual(["prod", "test", "prod"]);
    expect(runner.started[2]?.reasons).toEqual(["approved by alice", "approved by bob"]);
    await runner.finish("prod");
    await runner.finish("test");
    expect(runner.overlaps()).toBe(0);
    expect(queue.stats()).toMatchObject({ run: 3, enqueued: 3, coalesced: 1 });
  });

  it("skips a schedule tick the run in flight covers, and re-queues one it does not", async () => {
    const { queue, runner, skips } = setup();
    const running = queue.add(req("prod", "drift"));
    await settle();
    const tick = queue.add(req("prod", "drift"));
    expect(tick.outcome).toBe("skipped");
    expect(skips).toEqual(["prod:drift"]);
    // A drift check does not look for new commits: a poll tick still runs after it.
    expect(queue.add(req("prod", "poll")).outcome).toBe("requeued");
    expect(queue.stats()).toMatchObject({ skippedInFlight: 1, enqueued: 2 });

    await runner.finish("prod");
    // The skipped tick settles with the run that covered it.
    expect(await tick.done).toEqual(await running.done);
    expect(runner.started.map((i) => i.kind)).toEqual(["drift", "poll"]);
  });

  it("runs at most `workers` keys at once", async () => {
    const { queue, runner } = setup({ workers: 2 });
    for (const key of ["a", "b", "c", "d"]) queue.add(req(key, "poll"));
    await settle();
    expect(queue.inFlight()).toEqual(["a", "b"]);
    await runner.finish("a");
    expect(queue.inFlight()).toEqual(["b", "c"]);
    await runner.finish("b");
    await runner.finish("c");
    await runner.finish("d");
    expect(runner.maxActive()).toBe(2);
    expect(runner.keysStarted()).toEqual(["a", "b", "c", "d"]);
  });

  it("runs an environment after the one it is promoted from, and other pipelines beside them", async () => {
    // test → stage → prod, and an unrelated pipeline dev → qa.
    const from: Record<string, string> = { stage: "test", prod: "stage", qa: "dev" };
    const { queue, runner } = setup({ workers: 3, upstream: (key) => (from[key] ? [from[key]] : []) });
    for (const key of ["test", "stage", "prod", "dev", "qa"]) queue.add(req(key, "check"));
    await settle();
    expect(queue.inFlight()).toEqual(["test", "dev"]);
    await runner.finish("test");
    expect(queue.inFlight()).toEqual(["dev", "stage"]);
    await runner.finish("dev");
    expect(queue.inFlight()).toEqual(["stage", "qa"]);
    await runner.finish("stage");
    expect(queue.inFlight()).toEqual(["qa", "prod"]);
    await runner.finish("qa");
    await runner.finish("prod");
    // A downstream key asked for first does not wait for an upstream one that is not queued.
    queue.add(req("prod", "check"));
    await settle();
    expect(queue.inFlight()).toEqual(["prod"]);
    await runner.finish("prod");
  });

  it("counts a failed run, reports it, and goes on with the next", async () => {
    const { queue, runner, failures } = setup();
    const failing = queue.add(req("a", "poll"));
    queue.add(req("b", "poll"));
    await settle();
    const boom = new Error("boom");
    await runner.finish("a", boom);
    expect(await failing.done).toEqual({ status: "failed", error: boom });
    expect(failures).toEqual(["a"]);
    expect(queue.inFlight()).toEqual(["b"]);
    await runner.finish("b");
    expect(queue.stats()).toMatchObject({ run: 2, failed: 1 });
  });

  it("stops gracefully: drops what waits, aborts the signal, waits for the run in flight", async () => {
    const signals: AbortSignal[] = [];
    const runner = fakeRunner();
    const queue = new WorkQueue({
      run: (item, signal) => (signals.push(signal), runner.run(item)),
    });
    queue.add(req("a", "poll"));
    const waiting = queue.add(req("b", "poll"));
    await settle();

    let result: Awaited<ReturnType<WorkQueue["stop"]>> | undefined;
    const stopping = queue.stop().then((r) => (result = r));
    await settle();
    expect(signals[0]?.aborted).toBe(true);
    expect(await waiting.done).toEqual({ status: "dropped" });
    expect(queue.add(req("c", "poll")).outcome).toBe("stopped");
    expect(result).toBeUndefined();

    await runner.finish("a");
    await stopping;
    expect(result).toEqual({ stillRunning: [], dropped: ["b"] });
    expect(runner.keysStarted()).toEqual(["a"]);
  });

  it("stops at the deadline and names what was still running", async () => {
    let expire!: () => void;
    const runner = fakeRunner();
    const queue = new WorkQueue({
      run: runner.run,
      sleep: (ms) => {
        expect(ms).toBe(30_000);
        return new Promise<void>((resolve) => (expire = resolve));
      },
    });
    queue.add(req("prod", "check"));
    await settle();
    const stopping = queue.stop({ timeoutMs: 30_000 });
    await settle();
    expire();
    expect(await stopping).toEqual({ stillRunning: ["prod"], dropped: [] });
    await runner.finish("prod");
  });

  it("refuses a number of workers that is not a whole number >= 1", () => {
    expect(() => new WorkQueue({ run: async () => {}, workers: 0 })).toThrow(/workers must be/);
    expect(() => new WorkQueue({ run: async () => {}, workers: 1.5 })).toThrow(/got 1.5/);
  });
});

describe("kinds", () => {
  it("a full check covers a poll and a drift check; together they need a full check", () => {
    expect(joinKinds("poll", "poll")).toBe("poll");
    expect(joinKinds("poll", "drift")).toBe("check");
    expect(joinKinds("drift", "check")).toBe("check");
    expect(covers("check", "poll")).toBe(true);
    expect(covers("check", "drift")).toBe(true);
    expect(covers("drift", "poll")).toBe(false);
    expect(covers("poll", "drift")).toBe(false);
  });
});
