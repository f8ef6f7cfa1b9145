import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import type { CheckReport } from "../../../src/domain/model";
import { loadSqlite } from "../../../src/adapters/store/load-sqlite";
import { MIGRATIONS } from "../../../src/adapters/store/migrations";
import type { EnvironmentState, NewRun } from "../../../src/adapters/store/port";
import { sampleReport } from "../report/fixture";
import { storeError, useTempStore } from "./temp-store";

const REPO = path.join(__dirname, "..", "..", "..");
const T0 = "2025-03-04T09:00:00.000Z";

const temp = useTempStore();
const openStore = temp.open;
const raw = temp.raw;

const newRun = (id: string, overrides: Partial<NewRun> = {}): NewRun => ({
  id,
  environment: "test",
  stack: "test",
  kind: "check",
  trigger: "schedule",
  commit: "4f1c2a9e",
  startedAt: T0,
  ...overrides,
});

const state = (environment: string, overrides: Partial<EnvironmentState> = {}): EnvironmentState => ({
  environment,
  branch: environment,
  stack: environment,
  status: "Synced",
  pendingCount: 0,
  driftCount: 0,
  updatedAt: T0,
  ...overrides,
});

describe("runs", () => {
  it("go from started to finished, newest first", () => {
    const store = openStore();
    store.startRun(newRun("r1"));
    store.startRun(newRun("r2", { startedAt: "2025-03-04T09:05:00.000Z", kind: "sync", commit: undefined }));
    store.startRun(
      newRun("r3", { environment: "prod", stack: "prod", startedAt: "2025-03-04T09:10:00.000Z" }),
    );

    expect(store.run("r1")).toEqual(newRun("r1"));
    expect(store.run("r2")).not.toHaveProperty("commit");

    store.finishRun("r1", "succeeded");
    store.finishRun("r2", "failed", { kind: "lock-held", message: "locked", recovery: "wait" });

    expect(store.run("r1")).toEqual({
      ...newRun("r1"),
      endedAt: "2025-03-04T12:00:00.000Z",
      outcome: "succeeded",
    });
    expect(store.run("r2")?.error).toEqual({ kind: "lock-held", message: "locked", recovery: "wait" });
    expect(store.runs().map((r) => r.id)).toEqual(["r3", "r2", "r1"]);
    expect(store.runs({ environment: "test" }).map((r) => r.id)).toEqual(["r2", "r1"]);
    expect(store.runs({ limit: 1 }).map((r) => r.id)).toEqual(["r3"]);
    expect(store.run("nope")).toBeUndefined();
  });

  it("order by time even when the offsets differ", () => {
    const store = openStore();
    store.startRun(newRun("late", { startedAt: "2025-03-04T10:30:00+02:00" })); // 08:30Z
    store.startRun(newRun("early", { startedAt: "2025-03-04T09:00:00Z" }));
    expect(store.runs().map((r) => r.id)).toEqual(["early", "late"]);
  });

  it("refuse a duplicate id, an unknown run, a second finish and bad arguments", () => {
    const store = openStore();
    store.startRun(newRun("r1"));
    expect(storeError(() => store.startRun(newRun("r1")))).toBe("conflict");
    expect(storeError(() => store.finishRun("nope", "succeeded"))).toBe("not-found");
    store.finishRun("r1", "succeeded");
    expect(storeError(() => store.finishRun("r1", "failed"))).toBe("conflict");
    expect(store.run("r1")?.outcome).toBe("succeeded");
    expect(storeError(() => store.runs({ limit: 0 }))).toBe("invalid-input");
    expect(storeError(() => store.startRun(newRun("r2", { startedAt: "soon" })))).toBe("invalid-input");
  });
});

describe("restart", () => {
  it("keeps runs, statuses and reports across close and reopen, and migrates once", () => {
    const first = openStore();
    first.startRun(newRun("r1"));
    first.finishRun("r1", "succeeded");
    first.setStatus(
      state("test", { status: "Drifted", driftCount: 1, lastRunId: "r1", reason: "tags changed" }),
    );
    first.saveReport(sampleReport({ runId: "r1" }));
    first.close();
    first.close(); // closing twice is harmless

    const second = openStore();
    expect(second.run("r1")?.outcome).toBe("succeeded");
    expect(second.status("test")).toEqual(
      state("test", { status: "Drifted", driftCount: 1, lastRunId: "r1", reason: "tags changed" }),
    );
    expect(second.latestReport("test")).toEqual(sampleReport({ runId: "r1" }));
    second.close();

    const versions = raw((db) => db.prepare("SELECT version FROM schema_version").all());
    expect(versions.map((v) => v.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(raw((db) => db.prepare("PRAGMA journal_mode").get()?.journal_mode)).toBe("wal");
  });

  it("refuses a file written by a newer tidegate", () => {
    openStore().close();
    raw((db) => db.exec("INSERT INTO schema_version (version, applied_at) VALUES (99, 'later')"));
    expect(storeError(() => openStore())).toBe("newer-schema");
  });
});

describe("markInterrupted", () => {
  it("finds runs a crash left without an end and marks them interrupted, once", () => {
    const crashed = openStore();
    crashed.startRun(newRun("done"));
    crashed.finishRun("done", "succeeded");
    crashed.startRun(newRun("cut-check", { startedAt: "2025-03-04T09:01:00.000Z" }));
    crashed.startRun(newRun("cut-sync", { kind: "sync", startedAt: "2025-03-04T09:02:00.000Z" }));
    crashed.close(); // the process died here

    const store = openStore();
    const now = "2025-03-04T13:00:00.000Z";
    const marked = store.markInterrupted(now);

    expect(marked.map((r) => r.id)).toEqual(["cut-sync", "cut-check"]);
    expect(marked[0]).toMatchObject({ outcome: "interrupted", endedAt: now, error: { kind: "interrupted" } });
    expect(marked[0]?.error?.recovery).toMatch(/pending operations/);
    expect(store.run("cut-check")).toEqual(marked[1]);
    expect(store.run("done")?.outcome).toBe("succeeded");
    expect(store.interruptedRuns().map((r) => r.id)).toEqual(["cut-sync", "cut-check"]);
    expect(store.markInterrupted(now)).toEqual([]);
  });

  it("lets the process that owns a run still record its real outcome", () => {
    const owner = openStore();
    owner.startRun(newRun("r1"));
    openStore().markInterrupted("2025-03-04T10:00:00.000Z"); // a second process starting up
    owner.finishRun("r1", "succeeded");
    expect(owner.run("r1")).toMatchObject({ outcome: "succeeded", endedAt: "2025-03-04T12:00:00.000Z" });
    expect(owner.run("r1")).not.toHaveProperty("error");
  });
});

describe("statuses", () => {
  it("replace per environment, listed by name, never overwritten by an older state", () => {
    const store = openStore();
    store.setStatus(state("test"));
    store.setStatus(state("prod", { status: "OutOfSync", pendingCount: 2, headCommit: "abc" }));
    store.setStatus(
      state("test", { status: "Drifted", driftCount: 3, updatedAt: "2025-03-04T09:10:00.000Z" }),
    );
    store.setStatus(state("test", { status: "Failed", updatedAt: "2025-03-04T09:05:00.000Z" })); // late, older

    expect(store.statuses().map((s) => [s.environment, s.status])).toEqual([
      ["prod", "OutOfSync"],
      ["test", "Drifted"],
    ]);
    expect(store.status("test")?.driftCount).toBe(3);
    expect(store.status("stage")).toBeUndefined();
    expect(storeError(() => store.setStatus(state("test", { pendingCount: -1 })))).toBe("invalid-input");
  });
});

describe("reports", () => {
  const at = (runId: string, startedAt: string, status: CheckReport["status"] = "Synced") =>
    sampleReport({ runId, startedAt, endedAt: startedAt, status });

  it("keep history, newest first, per environment", () => {
    const store = openStore();
    store.saveReport(at("r2", "2025-03-04T10:00:00.000Z", "Drifted"));
    store.saveReport(at("r1", "2025-03-04T09:00:00.000Z"));
    store.saveReport(at("r3", "2025-03-04T11:00:00.000Z", "OutOfSync"));
    store.saveReport(
      sampleReport({ runId: "p1", environment: "prod", startedAt: "2025-03-04T12:00:00.000Z" }),
    );

    expect(store.reports("test", 10)).toEqual([
      { runId: "r3", startedAt: "2025-03-04T11:00:00.000Z", status: "OutOfSync" },
      { runId: "r2", startedAt: "2025-03-04T10:00:00.000Z", status: "Drifted" },
      { runId: "r1", startedAt: "2025-03-04T09:00:00.000Z", status: "Synced" },
    ]);
    expect(store.reports("test", 2).map((r) => r.runId)).toEqual(["r3", "r2"]);
    expect(store.latestReport("test")?.runId).toBe("r3");
    expect(store.latestReport("prod")?.runId).toBe("p1");
    expect(store.latestReport("stage")).toBeUndefined();
    expect(store.report("r1")).toEqual(at("r1", "2025-03-04T09:00:00.000Z"));
    expect(store.report("nope")).toBeUndefined();
  });

  it("accept the same report twice but never rewrite one", () => {
    const store = openStore();
    store.saveReport(sampleReport());
    store.saveReport(sampleReport());
    expect(store.reports("test", 10)).toHaveLength(1);
    expect(storeError(() => store.saveReport(sampleReport({ status: "Synced" })))).toBe("conflict");
    expect(store.report("run-0001")?.status).toBe("OutOfSync+Drifted");
  });

  it("refuse an invalid report, and name a damaged one on the way out", () => {
    const store = openStore();
    expect(storeError(() => store.saveReport({ ...sampleReport(), runId: "" }))).toBe("invalid-input");

    store.saveReport(sampleReport());
    raw((db) => db.exec(`UPDATE reports SET body = json_remove(body, '$.runId')`));
    expect(() => store.report("run-0001")).toThrow(/stored report of run run-0001 .*runId/);
    expect(storeError(() => store.latestReport("test"))).toBe("corrupt");
  });
});

describe("two processes on one file", () => {
  it("see each other's writes", () => {
    const a = openStore();
    const b = openStore();
    a.startRun(newRun("r1"));
    expect(b.run("r1")?.id).toBe("r1");
    b.finishRun("r1", "succeeded");
    expect(a.run("r1")?.outcome).toBe("succeeded");
    b.saveReport(sampleReport());
    expect(a.latestReport("test")?.runId).toBe("run-0001");
    a.setStatus(state("test"));
    expect(b.statuses()).toHaveLength(1);
  });

  it("wait for a lock another writer holds, instead of failing", async () => {
    openStore().close(); // create the schema first
    const holder = holdWriteLock(temp.file, 300);
    await holder.locked;

    const started = Date.now();
    openStore().startRun(newRun("r1")); // blocks until the other writer commits
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    await holder.done;
    expect(openStore().run("r1")?.id).toBe("r1");
  });

  it("fail with a typed error when the lock outlasts the busy timeout", async () => {
    const store = openStore({ busyTimeoutMs: 50 });
    const holder = holdWriteLock(temp.file, 400);
    await holder.locked;
    try {
      expect(storeError(() => store.startRun(newRun("r1")))).toBe("busy");
    } finally {
      await holder.done;
    }
  });
});

/** Another connection, in a worker thread, that holds the write lock for `ms`. */
function holdWriteLock(dbFile: string, ms: number): { locked: Promise<void>; done: Promise<void> } {
  const worker = new Worker(
    `
    const { parentPort, workerData } = require("node:worker_threads");
    const emitWarning = process.emitWarning;
    process.emitWarning = () => {}; // the worker's own copy of the SQLite warning
    const { DatabaseSync } = process.getBuiltinModule("node:sqlite");
    process.emitWarning = emitWarning;
    const db = new DatabaseSync(workerData.file);
    db.exec("BEGIN IMMEDIATE");
    db.exec("INSERT INTO statuses (environment, branch, stack, status, pending_count, drift_count, updated_at, updated_ms) VALUES ('held', 'b', 's', 'Unknown', 0, 0, 'x', 0)");
    parentPort.postMessage("locked");
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.ms);
    db.exec("COMMIT");
    db.close();
    `,
    { eval: true, workerData: { file: dbFile, ms } },
  );
  const locked = new Promise<void>((resolve, reject) => {
    worker.once("message", () => resolve());
    worker.once("error", reject);
  });
  const done = new Promise<void>((resolve, reject) => {
    worker.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`lock holder exited ${code}`))));
    worker.once("error", reject);
  });
  return { locked, done };
}

describe("loading node:sqlite", () => {
  it("restores process.emitWarning after loading", () => {
    const before = process.emitWarning;
    loadSqlite();
    expect(process.emitWarning).toBe(before);
  });

  it("drops only SQLite's ExperimentalWarning, in a fresh process", () => {
    const script = path.join(temp.dir, "open-store.ts");
    fs.writeFileSync(
      script,
      [
        `import { openSqliteStore } from ${JSON.stringify(path.join(REPO, "src", "store", "sqlite"))};`,
        `openSqliteStore(${JSON.stringify(temp.file)}).close();`,
        `process.emitWarning("another warning", "ExperimentalWarning");`,
      ].join("\n"),
    );
    const tsx = path.join(REPO, "node_modules", "tsx", "dist", "cli.mjs");
    const result = spawnSync(process.execPath, [tsx, script], { encoding: "utf8", cwd: REPO });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).not.toContain("SQLite is an experimental feature");
    expect(result.stderr).toContain("ExperimentalWarning: another warning");
    expect(fs.existsSync(temp.file)).toBe(true);
  });
});
