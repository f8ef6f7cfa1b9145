import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { openMemoryStore } from "../../../src/adapters/store/memory";
import type { ResolvedEnvironment } from "../../../src/config/resolve";
import { Daemon, type DaemonEngine } from "../../../src/daemon";
import type { WorkRequest } from "../../../src/daemon/requests";
import type { RunReport, EnvironmentState, EnvironmentStatus } from "../../../src/domain/model";
import { createLogger } from "../../../src/log";

// Never fires during a test.
const YEARLY = "0 0 1 1 *";
const WAIT = { timeout: 5_000, interval: 10 };

/** An engine that records the runs asked of it and reports the statuses the test sets. */
function fakeEngine(names: string[]) {
  const calls: string[] = [];
  const statuses = new Map<string, EnvironmentStatus>();
  /** Each heads call: when it was made, and the oldest listing it accepts. */
  const heads: { at: number; notBefore?: Date }[] = [];
  const engine: DaemonEngine = {
    environments: names.map(
      (name) => ({ name, schedule: { poll: YEARLY, drift: YEARLY }, gates: {} }) as ResolvedEnvironment,
    ),
    poll: async (name, trigger) => {
      calls.push(`poll ${name} (${trigger})`);
      return undefined;
    },
    check: async (name, options) => {
      calls.push(`${options.kind} ${name} (${options.trigger})`);
      if (statuses.get(name) === undefined) statuses.set(name, "Synced");
      return {} as RunReport;
    },
    store: {
      status: async (environment) =>
        statuses.has(environment)
          ? ({ environment, status: statuses.get(environment) } as EnvironmentState)
          : undefined,
      statuses: async () =>
        [...statuses].map(([environment, status]) => ({ environment, status }) as EnvironmentState),
      setStatus: async (state) => void statuses.set(state.environment, state.status),
      runs: async () => [],
    },
    git: {
      heads: async (branches, options) => {
        heads.push({ at: Date.now(), ...(options?.notBefore ? { notBefore: options.notBefore } : {}) });
        return Object.fromEntries(branches.map((b) => [b, "a".repeat(40)]));
      },
    },
    audit: { append: async (entry) => ({ ...entry, seq: 1, time: "", prev: "", hash: "" }) },
  };
  return { engine, calls, statuses, heads };
}

function fakeSource() {
  const requests: WorkRequest[] = [];
  return {
    requests,
    add(environment: string, reason: string, look?: "check" | "sync") {
      requests.push({
        seq: requests.length + 1,
        environment,
        reason,
        priority: "person",
        ...(look ? { look } : {}),
        at: "2026-01-01T00:00:00Z",
      });
    },
    source: {
      requestsSince: async (seq: number, limit = 100) => requests.filter((r) => r.seq > seq).slice(0, limit),
    },
  };
}

function logger() {
  const lines: string[] = [];
  const stream = new PassThrough();
  stream.on("data", (chunk: Buffer) => lines.push(...chunk.toString().split("\n").filter(Boolean)));
  return { log: createLogger({ mode: "json", level: "debug", stream, secrets: () => [] }), lines };
}

const daemons: Daemon[] = [];
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop()));
});

function setup(names: string[], startup?: "check" | "poll") {
  const { engine, calls, statuses, heads } = fakeEngine(names);
  const requests = fakeSource();
  const { log, lines } = logger();
  const daemon = new Daemon({
    engine,
    log,
    requests: requests.source,
    requestIntervalMs: 10,
    ...(startup ? { startup } : {}),
  });
  daemons.push(daemon);
  return { daemon, calls, statuses, requests, lines, heads };
}

describe("Daemon", () => {
  it("checks every environment once at startup, in order, and returns their statuses", async () => {
    const { daemon, calls, statuses } = setup(["test", "stage", "prod"]);
    statuses.set("prod", "AwaitingApproval");
    expect(await daemon.startup()).toEqual(["Synced", "Synced", "AwaitingApproval"]);
    expect(calls).toEqual(["check test (startup)", "check stage (startup)", "check prod (startup)"]);
  });

  it("with startup: poll, polls every environment at startup (the engine checks only what moved) and returns the recorded statuses", async () => {
    const { daemon, calls, statuses } = setup(["test", "prod"], "poll");
    statuses.set("test", "Synced");
    statuses.set("prod", "AwaitingApproval");
    expect(await daemon.startup()).toEqual(["Synced", "AwaitingApproval"]);
    expect(calls).toEqual(["poll test (startup)", "poll prod (startup)"]);
  });

  it("re-judges an environment waiting on its gates in full when a request arrives; polls one that is not", async () => {
    const { daemon, calls, statuses, requests } = setup(["stage", "prod"]);
    requests.add("prod", "approved before the daemon started");
    await daemon.startup();
    statuses.set("prod", "AwaitingApproval");
    daemon.watch();

    requests.add("prod", "approved by alice@example.com");
    requests.add("stage", "approval revoked by bob@example.com");
    requests.add("nowhere", "approved by mallory@example.com");
    await vi.waitFor(() => expect(calls).toHaveLength(4), WAIT);
    // The request from before the start is covered by the startup checks.
    expect(calls.slice(2)).toEqual([
      "check prod (approved by alice@example.com)",
      "poll stage (approval revoked by bob@example.com)",
    ]);
    expect(daemon.stats()).toMatchObject({ enqueued: 4, run: 4, failed: 0 });
  });

  it("reads the heads from a listing no older than each look's request (shared by the looks of one tick)", async () => {
    const { daemon, heads } = setup(["test", "stage", "prod"]);
    const before = Date.now();
    await daemon.startup();
    const asked = Date.now();
    await daemon.request({ key: "prod", kind: "poll", priority: "person", reason: "webhook" });
    expect(heads).toHaveLength(4);
    for (const call of heads) {
      expect(call.notBefore?.getTime()).toBeGreaterThanOrEqual(before);
      expect(call.notBefore?.getTime()).toBeLessThanOrEqual(call.at);
    }
    expect(heads[3]?.notBefore?.getTime()).toBeGreaterThanOrEqual(asked);
  });

  it("checks in full when a person asked for a check or a sync, even with nothing waiting", async () => {
    const { daemon, calls, requests } = setup(["stage"]);
    await daemon.startup();
    daemon.watch();
    requests.add("stage", "check requested by ada", "check");
    await vi.waitFor(() => expect(calls).toHaveLength(2), WAIT);
    requests.add("stage", "sync requested by ada", "sync");
    await vi.waitFor(() => expect(calls).toHaveLength(3), WAIT);
    expect(calls.slice(1)).toEqual([
      "check stage (check requested by ada)",
      "check stage (sync requested by ada)",
    ]);
  });

  it("stops once: a second stop returns the same result, and no request is read after", async () => {
    const { daemon, calls, requests, lines } = setup(["prod"]);
    await daemon.startup();
    daemon.watch();
    const first = await daemon.stop({ timeoutMs: 1_000 });
    expect(await daemon.stop()).toBe(first);
    requests.add("prod", "approved by alice@example.com");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(calls).toEqual(["check prod (startup)"]);
    expect(lines.filter((l) => l.includes("work queue stopped"))).toHaveLength(1);
  });
});

describe("Daemon replicas", () => {
  // Two daemons on one store, sharing one request source, on the real clock (short leases).
  function pair(names: string[]) {
    const store = openMemoryStore();
    const requests = fakeSource();
    const replica = (me: string) => {
      const { engine, calls } = fakeEngine(names);
      // A takeover first marks the runs a dead replica left open.
      engine.recoverInterruptedRuns = async () => void calls.push("recover interrupted runs");
      const { log } = logger();
      const daemon = new Daemon({
        engine,
        log,
        requests: requests.source,
        requestIntervalMs: 10,
        replica: { store, me, ttlMs: 60_000, heartbeatMs: 20, isDead: () => false },
      });
      daemons.push(daemon);
      return { daemon, calls };
    };
    return { store, requests, a: replica("a"), b: replica("b") };
  }

  it("looks only at what each replica owns; a request reaches the owner alone; a stop hands over", async () => {
    const { store, requests, a, b } = pair(["dev", "test", "stage", "prod"]);
    // The first replica owns everything before its first look.
    expect(await a.daemon.startup()).toEqual(["Synced", "Synced", "Synced", "Synced"]);
    expect(a.calls).toHaveLength(4); // the startup checks: the first takeover is no takeover
    a.daemon.watch();
    // The second takes what the first hands over, and looks at each as it takes it.
    await b.daemon.startup();
    b.daemon.watch();
    await vi.waitFor(async () => {
      const owners = (await store.leases("owner:")).map((l) => l.owner);
      expect(owners.filter((o) => o === "b")).toHaveLength(2);
      expect(owners.filter((o) => o === "a")).toHaveLength(2);
    }, WAIT);
    const ownedByB = (await store.leases("owner:")).filter((l) => l.owner === "b").map((l) => l.key.slice(6));
    await vi.waitFor(() => expect(b.calls.filter((c) => c.startsWith("check"))).toHaveLength(2), WAIT);
    expect(b.calls[0]).toBe("recover interrupted runs");
    expect(b.calls.filter((c) => c.startsWith("check")).sort()).toEqual(
      ownedByB.map((env) => `check ${env} (ownership taken over)`).sort(),
    );

    const [env] = ownedByB as [string];
    requests.add(env, "approved by alice@example.com", "check");
    await vi.waitFor(() => expect(b.calls).toContain(`check ${env} (approved by alice@example.com)`), WAIT);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(a.calls.filter((c) => c.includes("alice"))).toEqual([]);

    await b.daemon.stop();
    expect((await store.leases("owner:")).filter((l) => l.owner === "b")).toEqual([]);
    await vi.waitFor(
      async () => expect((await store.leases("owner:")).every((l) => l.owner === "a")).toBe(true),
      WAIT,
    );
    await vi.waitFor(() => expect(a.calls).toContain(`check ${env} (ownership taken over)`), WAIT);
  });
});

describe("Daemon with several repositories", () => {
  it("reads each environment's heads from its own repository, with that repository's config ref", async () => {
    const { engine } = fakeEngine([]);
    const asked: string[] = [];
    const git = (label: string) => ({
      heads: async (branches: string[]) => {
        asked.push(`${label}: ${branches.join(" ")}`);
        return Object.fromEntries(branches.map((b) => [b, "b".repeat(40)]));
      },
    });
    const repositories = { alpha: git("alpha"), beta: git("beta") };
    const env = (name: string, repository: "alpha" | "beta") =>
      ({
        name,
        repository,
        branch: "test",
        schedule: { poll: YEARLY, drift: YEARLY },
        gates: {},
      }) as ResolvedEnvironment;
    const withRepositories: DaemonEngine = {
      ...engine,
      environments: [env("alpha.test", "alpha"), env("beta.test", "beta")],
      git: git("the first"),
      repositoryOf: (e) => ({
        git: { ...repositories[e.repository as "alpha" | "beta"], readFiles: vi.fn() } as never,
        environmentsDir: "environments",
        configRef: e.repository === "alpha" ? "config" : "main",
      }),
    };
    const daemon = new Daemon({ engine: withRepositories, log: logger().log, requests: fakeSource().source });
    daemons.push(daemon);
    await daemon.startup();
    expect(asked.sort()).toEqual(["alpha: test config", "beta: test main"]);
  });
});
