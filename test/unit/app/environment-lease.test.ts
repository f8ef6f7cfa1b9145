import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  EnvironmentHeldError,
  runOwnerId,
  SKIP_IF_HELD,
  withEnvironmentLease,
  type EnvironmentLeaseOptions,
  type LeaseHolder,
} from "../../../src/app/environment-lease";
import { openMemoryStore } from "../../../src/adapters/store/memory";
import type { Store } from "../../../src/adapters/store/port";
import type { ResolvedEnvironment } from "../../../src/config/resolve";
import { Daemon, type DaemonEngine } from "../../../src/daemon";
import type { RunReport } from "../../../src/domain/model";
import { errorKind } from "../../../src/domain/errors";
import { createLogger } from "../../../src/log";

// The environment lease on fakes: a memory store, a clock the test moves, and a sleep that moves
// it; the daemon with an engine that finds its environment held.

const DAEMON = "ci-1/4242/777/run-daemon";
const KEY = "environment:test";
const T0 = Date.parse("2026-01-01T10:00:00Z");

function setup(options: { isDead?: (owner: string | undefined) => boolean } = {}) {
  const store = openMemoryStore();
  let now = T0;
  const slept: number[] = [];
  const lease = (owner: string, extra: Partial<EnvironmentLeaseOptions> = {}): EnvironmentLeaseOptions => ({
    store,
    owner,
    isDead: (holder) => options.isDead?.(holder) ?? false,
    ttlMs: 60_000,
    pollMs: 1_000,
    clock: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
    ...extra,
  });
  const hold = (owner = DAEMON) => store.acquire(KEY, owner, 60_000, new Date(now).toISOString());
  return { store, lease, hold, slept, advance: (ms: number) => (now += ms) };
}

const held = (store: Store) => store.holder(KEY);

describe("withEnvironmentLease", () => {
  it("holds the lease while the work runs and frees it after, also when the work fails", async () => {
    const { store, lease } = setup();
    const seen = await withEnvironmentLease("test", SKIP_IF_HELD, lease("me/1/1/run-a"), () => held(store));
    expect(seen?.owner).toBe("me/1/1/run-a");
    expect(await held(store)).toBeUndefined();

    const failing = withEnvironmentLease("test", SKIP_IF_HELD, lease("me/1/1/run-b"), () =>
      Promise.reject(new Error("preview failed")),
    );
    await expect(failing).rejects.toThrow("preview failed");
    expect(await held(store)).toBeUndefined();
  });

  it("skips at once, without running the work, when another live process holds it (the daemon)", async () => {
    const { store, lease, hold, slept } = setup();
    await hold();
    const work = vi.fn(() => Promise.resolve("ran"));
    const error = await withEnvironmentLease("test", SKIP_IF_HELD, lease("me/1/1/run-b"), work).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EnvironmentHeldError);
    expect(errorKind(error)).toBe("conflict");
    expect((error as Error).message).toBe(
      "environment test is held by ci-1 pid 4242 (run run-daemon, since 2026-01-01T10:00:00.000Z)",
    );
    expect(work).not.toHaveBeenCalled();
    expect(slept).toEqual([]);
    expect((await held(store))?.owner).toBe(DAEMON);
  });

  it("waits for the holder, says once who it is, and runs when it lets go (a CLI command)", async () => {
    const { store, lease, hold, slept } = setup();
    await hold();
    const told: LeaseHolder[] = [];
    let polls = 0;
    const options = lease("me/1/1/run-b", {
      sleep: async (ms) => {
        slept.push(ms);
        if (++polls === 3) await store.release(KEY, DAEMON);
      },
    });
    const policy = { kind: "wait", timeoutMs: 60_000, onWaiting: (h: LeaseHolder) => told.push(h) } as const;
    const result = await withEnvironmentLease(
      "test",
      policy,
      options,
      async () => (await held(store))?.owner,
    );
    expect(result).toBe("me/1/1/run-b");
    expect(slept).toEqual([1_000, 1_000, 1_000]);
    expect(told).toEqual([
      { owner: DAEMON, host: "ci-1", pid: 4242, runId: "run-daemon", since: "2026-01-01T10:00:00.000Z" },
    ]);
  });

  it("fails with a conflict naming the holder when the bound passes", async () => {
    const { lease, hold, slept } = setup();
    await hold();
    const policy = { kind: "wait", timeoutMs: 2_500 } as const;
    const error = await withEnvironmentLease("test", policy, lease("me/1/1/run-b"), () =>
      Promise.resolve(),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EnvironmentHeldError);
    expect((error as EnvironmentHeldError).kind).toBe("conflict");
    expect((error as Error).message).toContain("held by ci-1 pid 4242 (run run-daemon");
    expect((error as Error).message).toContain("gave up after waiting 3s");
    // Never sleeps past the bound.
    expect(slept).toEqual([1_000, 1_000, 500]);
  });

  it("takes over at once from a holder that is dead on this host", async () => {
    const { store, lease, hold, slept } = setup({ isDead: (owner) => owner === DAEMON });
    await hold();
    const policy = { kind: "wait", timeoutMs: 60_000 } as const;
    const owner = await withEnvironmentLease(
      "test",
      policy,
      lease("me/1/1/run-b"),
      async () => (await held(store))?.owner,
    );
    expect(owner).toBe("me/1/1/run-b");
    expect(slept).toEqual([]);
  });

  it("takes over from a holder elsewhere only after its TTL", async () => {
    const { lease, hold, advance } = setup();
    await hold();
    await expect(
      withEnvironmentLease("test", SKIP_IF_HELD, lease("me/1/1/run-b"), () => Promise.resolve()),
    ).rejects.toThrow(EnvironmentHeldError);
    advance(60_000);
    await expect(
      withEnvironmentLease("test", SKIP_IF_HELD, lease("me/1/1/run-b"), () => Promise.resolve("ran")),
    ).resolves.toBe("ran");
  });

  it("renews the lease while the work runs", async () => {
    const { store, lease } = setup();
    let clock = T0;
    const options = lease("me/1/1/run-a", { renewMs: 5, clock: () => (clock += 1_000) });
    const renewedAt = await withEnvironmentLease("test", SKIP_IF_HELD, options, async () => {
      const first = (await held(store))?.renewedAt;
      await vi.waitFor(async () => expect((await held(store))?.renewedAt).not.toBe(first), {
        timeout: 2_000,
      });
      return (await held(store))?.expiresAt;
    });
    expect(Date.parse(renewedAt ?? "")).toBeGreaterThan(T0 + 60_000);
  });

  it("names a run's lease after its process and its run", () => {
    expect(runOwnerId("ci-1/4242/777/a1b2c3d4", "run-9")).toBe("ci-1/4242/777/run-9");
  });
});

describe("the daemon, when another process holds an environment", () => {
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await Promise.all(daemons.splice(0).map((d) => d.stop()));
  });

  it("does not wait: it skips, counts the skip, and looks again later", async () => {
    const calls: string[] = [];
    let holding = true;
    const holder: LeaseHolder = {
      owner: "ci-1/99/1/run-cli",
      host: "ci-1",
      pid: 99,
      runId: "run-cli",
      since: "now",
    };
    const engine: DaemonEngine = {
      environments: [
        {
          name: "test",
          schedule: { poll: "0 0 1 1 *", drift: "0 0 1 1 *" },
          gates: {},
        } as ResolvedEnvironment,
      ],
      poll: () => Promise.resolve(undefined),
      check: async (name, options, lease) => {
        calls.push(`${options.kind} ${name} ${lease?.kind}`);
        if (holding) {
          holding = false;
          throw new EnvironmentHeldError(name, holder);
        }
        return {} as RunReport;
      },
      store: {
        status: () => Promise.resolve(undefined),
        statuses: () => Promise.resolve([]),
        setStatus: () => Promise.resolve(),
        runs: () => Promise.resolve([]),
      },
      git: { heads: (branches) => Promise.resolve(Object.fromEntries(branches.map((b) => [b, "c0ffee"]))) },
      audit: { append: () => ({}) as ReturnType<DaemonEngine["audit"]["append"]> },
    };
    const lines: string[] = [];
    const stream = new PassThrough();
    stream.on("data", (chunk: Buffer) => lines.push(...chunk.toString().split("\n").filter(Boolean)));
    const log = createLogger({ mode: "json", level: "debug", stream, secrets: () => [] });
    const daemon = new Daemon({ engine, log, heldRetryMs: 20 });
    daemons.push(daemon);

    await daemon.startup();
    expect(daemon.stats()).toMatchObject({ skippedHeld: 1, failed: 0 });
    expect(lines.join("\n")).toContain(
      "environment test is held by ci-1 pid 99 (run run-cli, since now); skipped",
    );
    await vi.waitFor(() => expect(calls).toEqual(["check test skip", "check test skip"]), { timeout: 2_000 });
    await vi.waitFor(() => expect(daemon.stats()).toMatchObject({ run: 2, skippedHeld: 1, failed: 0 }));
  });
});
