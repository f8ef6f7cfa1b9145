import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import type { AuditInput } from "../../../src/adapters/audit";
import { RemoteClosedError } from "../../../src/adapters/git/errors";
import { openMemoryStore } from "../../../src/adapters/store/memory";
import type { ResolvedEnvironment } from "../../../src/config/resolve";
import { Daemon, type DaemonEngine } from "../../../src/daemon";
import type { WorkPriority } from "../../../src/daemon/queue";
import type { EnvironmentState, RunReport } from "../../../src/domain/model";
import { createLogger } from "../../../src/log";
import type { RunOptions } from "../../../src/reconcile/run";

// The daemon's handling of an environment that keeps failing, on a fake clock: the runs and
// statuses live in the real memory store, Git and the engine's runs are stand-ins.

const YEARLY = "0 0 1 1 *";
const HEAD = "a".repeat(40);
const CONFIG_HEAD = "c".repeat(40);
const BROKEN = "stacks/app/Pulumi.yaml: backend 'file:///tmp/x' names its own backend; expected none";

function world() {
  let now = Date.parse("2026-01-01T00:00:00.000Z");
  const store = openMemoryStore(undefined, { now: () => new Date(now) });
  const remote: { heads: Record<string, string>; down?: Error } = {
    heads: { test: HEAD, main: CONFIG_HEAD },
  };
  const audit: AuditInput[] = [];
  const lines: string[] = [];
  const runs: string[] = [];
  const failure: { message?: string } = { message: BROKEN };
  const env = {
    name: "test",
    branch: "test",
    stack: "test",
    schedule: { poll: YEARLY, drift: YEARLY },
    gates: {},
  };

  const check = async (name: string, options: RunOptions): Promise<RunReport> => {
    const id = `r${runs.length + 1}`;
    runs.push(`${options.kind} (${options.trigger})`);
    const at = new Date(now).toISOString();
    await store.startRun({
      id,
      environment: name,
      stack: "test",
      kind: options.kind,
      trigger: options.trigger,
      owner: "me",
      startedAt: at,
    });
    await store.setRunCommit(id, remote.heads.test ?? "");
    const state: EnvironmentState = {
      environment: name,
      branch: "test",
      stack: "test",
      status: failure.message ? "Failed" : "Synced",
      ...(failure.message ? { reason: failure.message } : {}),
      headCommit: remote.heads.test,
      pendingCount: 0,
      driftCount: 0,
      lastRunId: id,
      lastRunAt: at,
      updatedAt: at,
    };
    if (failure.message) await store.finishRun(id, "failed", { kind: "invalid", message: failure.message });
    else await store.finishRun(id, "succeeded");
    await store.setStatus(state);
    return { status: state.status, ...(state.reason ? { reason: state.reason } : {}) } as RunReport;
  };
  const engine: DaemonEngine = {
    environments: [env as ResolvedEnvironment],
    // As the engine's poll: a full check unless the head is unchanged since a check that did not
    // fail, judged by the status the daemon read for it.
    poll: async (name, trigger, _lease, known) => {
      const last = known ? known.state : await store.status(name);
      if (last?.headCommit === remote.heads.test && last?.status !== "Failed") return undefined;
      return check(name, { kind: "check", trigger: trigger ?? "schedule", allowSync: true });
    },
    check,
    store,
    git: {
      heads: async (branches) => {
        if (remote.down) throw remote.down;
        return Object.fromEntries(branches.map((b) => [b, remote.heads[b] ?? ""]));
      },
    },
    audit: {
      append: async (entry) => {
        audit.push(entry);
        return { ...entry, seq: audit.length, time: new Date(now).toISOString(), prev: "", hash: "" };
      },
    },
  };
  const stream = new PassThrough();
  stream.on("data", (chunk: Buffer) => lines.push(...chunk.toString().split("\n").filter(Boolean)));
  const daemon = new Daemon({
    engine,
    log: createLogger({ mode: "json", level: "debug", stream, secrets: () => [] }),
    retry: { retryInitialMs: 1_000, retryMaxMs: 8_000, stallAfter: 3, configRef: "main" },
    random: () => 0.5,
    now: () => new Date(now),
  });
  daemons.push(daemon);
  return {
    daemon,
    engine,
    store,
    remote,
    audit,
    lines,
    runs,
    failure,
    advance: (ms: number) => (now += ms),
    look: (priority: WorkPriority = "schedule", asOf?: Date) =>
      daemon.request({
        key: "test",
        kind: "poll",
        priority,
        reason: priority === "person" ? "asked by ada" : "schedule:poll",
        ...(asOf ? { asOf } : {}),
      }),
  };
}

const daemons: Daemon[] = [];
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop()));
});

describe("a failing environment in the daemon", () => {
  it("backs off scheduled looks with growing waits, counts the skipped ones, and resets on success", async () => {
    const w = world();
    await w.look();
    expect(w.runs).toHaveLength(1);
    // Back-off after one failure: 500..1000 ms (random 0.5 → 750 ms).
    w.advance(700);
    await w.look();
    expect(w.runs).toHaveLength(1);
    expect(w.daemon.stats().skippedBackoff).toBe(1);
    w.advance(100);
    await w.look();
    expect(w.runs).toHaveLength(2);
    // Second failure: 1000..2000 ms (→ 1500 ms).
    w.advance(1_400);
    await w.look();
    expect(w.runs).toHaveLength(2);
    w.advance(100);
    w.failure.message = undefined;
    await w.look();
    expect(w.runs).toHaveLength(3);
    expect((await w.store.status("test"))?.status).toBe("Synced");
    // A success resets it: nothing holds the next look.
    await w.look();
    expect(w.daemon.stats().skippedBackoff).toBe(2);
    expect(w.lines.some((l) => l.includes("backing off") && l.includes('"failures":2'))).toBe(true);
  });

  it("does not hold back a person's request", async () => {
    const w = world();
    await w.look();
    await w.look("person");
    expect(w.runs).toEqual(["check (schedule:poll)", "check (asked by ada)"]);
    expect(w.daemon.stats().skippedBackoff).toBe(0);
  });

  it("judges a later poll of the same tick by the status the looks before it wrote, not the tick's shared read", async () => {
    const w = world();
    w.failure.message = undefined;
    await w.look();
    const tick = new Date();
    await w.look("schedule", tick);
    expect(w.runs).toEqual(["check (schedule:poll)"]);
    // A person's check fails; a poll of the same tick (its jitter came later) sees that, and retries.
    w.failure.message = BROKEN;
    await w.daemon.request({
      key: "test",
      kind: "check",
      priority: "person",
      reason: "asked by ada",
      asOf: tick,
    });
    expect((await w.store.status("test"))?.status).toBe("Failed");
    await w.look("person", tick);
    expect(w.runs).toEqual(["check (schedule:poll)", "check (asked by ada)", "check (asked by ada)"]);
  });

  it("is Stalled after identical failures, held until its branch moves, and audited both ways", async () => {
    const w = world();
    for (let i = 0; i < 3; i++) {
      await w.look();
      w.advance(10_000);
    }
    const stalled = await w.store.status("test");
    expect(stalled?.status).toBe("Stalled");
    expect(stalled?.reason).toContain(`3 identical failures in a row, scheduled runs stopped: ${BROKEN}`);
    expect(stalled?.reason).toContain("tidegate check test");
    expect(w.audit.filter((e) => e.action === "stall")).toMatchObject([
      { verdict: "stalled", environment: "test", commit: HEAD, details: { failures: 3 } },
    ]);

    // Past any back-off: scheduled looks stay held, and consume no run.
    w.advance(60_000);
    await w.look();
    await w.look();
    expect(w.runs).toHaveLength(3);
    expect(w.daemon.stats().skippedStalled).toBe(2);

    w.remote.heads.test = "b".repeat(40);
    await w.look();
    expect(w.runs).toHaveLength(4);
    expect(w.audit.filter((e) => e.action === "stall").map((e) => e.verdict)).toEqual(["stalled", "resumed"]);
    expect(w.audit.at(-1)?.reason).toContain("branch 'test' moved to bbbbbbb");
    // The new commit fails too: Failed, counting afresh at the new commit.
    expect((await w.store.status("test"))?.status).toBe("Failed");
  });

  it("stays Stalled across a restart: the count and the status are the store's", async () => {
    const w = world();
    for (let i = 0; i < 3; i++) {
      await w.look();
      w.advance(10_000);
    }
    await w.daemon.stop();
    const log = createLogger({ mode: "json", level: "error", stream: new PassThrough(), secrets: () => [] });
    const restarted = new Daemon({
      engine: w.engine,
      log,
      retry: { retryInitialMs: 1_000, retryMaxMs: 8_000, stallAfter: 3, configRef: "main" },
    });
    daemons.push(restarted);
    expect(await restarted.startup()).toEqual(["Stalled"]);
    expect(w.runs).toHaveLength(3);
    expect(restarted.stats().skippedStalled).toBe(1);
  });

  it("resumes when the definitions' branch moves or a person asks, and stalls again on the same failure", async () => {
    const w = world();
    for (let i = 0; i < 3; i++) {
      await w.look();
      w.advance(10_000);
    }
    w.remote.heads.main = "d".repeat(40);
    await w.look();
    expect(w.runs).toHaveLength(4);
    expect(w.audit.at(-2)).toMatchObject({ action: "stall", verdict: "resumed" });
    expect(w.audit.at(-2)?.reason).toContain("the definitions' branch 'main' moved");
    // Same failure at the same commit: the streak is 4 now, Stalled again at once.
    expect(w.audit.at(-1)).toMatchObject({ action: "stall", verdict: "stalled" });
    expect((await w.store.status("test"))?.status).toBe("Stalled");

    w.advance(60_000);
    w.failure.message = undefined;
    await w.look("person");
    expect(w.runs.at(-1)).toBe("check (asked by ada)");
    expect(w.audit.at(-1)).toMatchObject({ action: "stall", verdict: "resumed", reason: "asked by ada" });
    expect((await w.store.status("test"))?.status).toBe("Synced");
  });

  it("keeps the status while the remote does not answer, marks it stale, and audits the outage once", async () => {
    const w = world();
    w.failure.message = undefined;
    await w.look();
    const polledAt = "2026-01-01T00:00:00.000Z";
    w.remote.down = new RemoteClosedError("ls-remote", "https://git.example.com/infra.git");
    for (let i = 0; i < 4; i++) {
      w.advance(60 * 60_000);
      await w.look();
    }
    const stale = await w.store.status("test");
    expect(stale?.status).toBe("Synced");
    expect(stale?.stale).toEqual({
      since: "2026-01-01T01:00:00.000Z",
      lastPollAt: polledAt,
      reason: w.remote.down.message,
    });
    expect(w.audit.filter((e) => e.action === "outage")).toMatchObject([
      { verdict: "started", environment: "test" },
    ]);
    expect(w.runs).toHaveLength(1);
    expect(w.lines.some((l) => l.includes("backing off") && l.includes('"failures":4'))).toBe(true);

    w.remote.down = undefined;
    w.advance(60 * 60_000);
    await w.look();
    const fresh = await w.store.status("test");
    expect(fresh?.status).toBe("Synced");
    expect(fresh?.stale).toBeUndefined();
    expect(w.audit.filter((e) => e.action === "outage").map((e) => e.verdict)).toEqual(["started", "ended"]);
  });

  it("marks a never-checked environment Unknown and stale when the remote does not answer at startup", async () => {
    const w = world();
    w.remote.down = new Error("git ls-remote failed: Connection refused");
    expect(await w.daemon.startup()).toEqual(["Unknown"]);
    expect(await w.store.status("test")).toMatchObject({
      status: "Unknown",
      stale: { reason: "git ls-remote failed: Connection refused" },
    });
  });
});
