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
  it("go from started to finished, newest first", async () => {
    const store = openStore();
    await store.startRun(newRun("r1"));
    await store.startRun(
      newRun("r2", { startedAt: "2025-03-04T09:05:00.000Z", kind: "sync", commit: undefined }),
    );
    await store.startRun(
      newRun("r3", { environment: "prod", stack: "prod", startedAt: "2025-03-04T09:10:00.000Z" }),
    );

    expect(await store.run("r1")).toEqual(newRun("r1"));
    expect(await store.run("r2")).not.toHaveProperty("commit");

    await store.finishRun("r1", "succeeded");
    await store.finishRun("r2", "failed", { kind: "lock-held", message: "locked", recovery: "wait" });

    expect(await store.run("r1")).toEqual({
      ...newRun("r1"),
      endedAt: "2025-03-04T12:00:00.000Z",
      outcome: "succeeded",
    });
    expect((await store.run("r2"))?.error).toEqual({
      kind: "lock-held",
      message: "locked",
      recovery: "wait",
    });
    expect((await store.runs()).map((r) => r.id)).toEqual(["r3", "r2", "r1"]);
    expect((await store.runs({ environment: "test" })).map((r) => r.id)).toEqual(["r2", "r1"]);
    expect((await store.runs({ limit: 1 })).map((r) => r.id)).toEqual(["r3"]);
    expect(await store.run("nope")).toBeUndefined();
  });

  it("order by time even when the offsets differ", async () => {
    const store = openStore();
    await store.startRun(newRun("late", { startedAt: "2025-03-04T10:30:00+02:00" })); // 08:30Z
    await store.startRun(newRun("early", { startedAt: "2025-03-04T09:00:00Z" }));
    expect((await store.runs()).map((r) => r.id)).toEqual(["early", "late"]);
  });

  it("refuse a duplicate id, an unknown run, a second finish and bad arguments", async () => {
    const store = openStore();
    await store.startRun(newRun("r1"));
    expect(await storeError(async () => await store.startRun(newRun("r1")))).toBe("conflict");
    expect(await storeError(async () => await store.finishRun("nope", "succeeded"))).toBe("not-found");
    await store.finishRun("r1", "succeeded");
    expect(await storeError(async () => await store.finishRun("r1", "failed"))).toBe("conflict");
    expect((await store.run("r1"))?.outcome).toBe("succeeded");
    expect(await storeError(async () => await store.runs({ limit: 0 }))).toBe("invalid-input");
    expect(await storeError(async () => await store.startRun(newRun("r2", { startedAt: "soon" })))).toBe(
      "invalid-input",
    );
  });
});

describe("restart", () => {
  it("keeps runs, statuses and reports across close and reopen, and migrates once", async () => {
    const first = openStore();
    await first.startRun(newRun("r1"));
    await first.finishRun("r1", "succeeded");
    await first.setStatus(
      state("test", { status: "Drifted", driftCount: 1, lastRunId: "r1", reason: "tags changed" }),
    );
    await first.saveReport(sampleReport({ runId: "r1" }));
    await first.close();
    await first.close(); // closing twice is harmless

    const second = openStore();
    expect((await second.run("r1"))?.outcome).toBe("succeeded");
    expect(await second.status("test")).toEqual(
      state("test", { status: "Drifted", driftCount: 1, lastRunId: "r1", reason: "tags changed" }),
    );
    expect(await second.latestReport("test")).toEqual(sampleReport({ runId: "r1" }));
    await second.close();

    const versions = raw((db) => db.prepare("SELECT version FROM schema_version").all());
    expect(versions.map((v) => v.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(raw((db) => db.prepare("PRAGMA journal_mode").get()?.journal_mode)).toBe("wal");
  });

  it("refuses a file written by a newer tidegate", async () => {
    await openStore().close();
    raw((db) => db.exec("INSERT INTO schema_version (version, applied_at) VALUES (99, 'later')"));
    expect(await storeError(async () => openStore())).toBe("newer-schema");
  });
});

describe("markInterrupted", () => {
  it("finds runs a crash left without an end and marks them interrupted, once", async () => {
    const crashed = openStore();
    await crashed.startRun(newRun("done"));
    await crashed.finishRun("done", "succeeded");
    await crashed.startRun(newRun("cut-check", { startedAt: "2025-03-04T09:01:00.000Z" }));
    await crashed.startRun(newRun("cut-sync", { kind: "sync", startedAt: "2025-03-04T09:02:00.000Z" }));
    await crashed.close(); // the process died here

    const store = openStore();
    const now = "2025-03-04T13:00:00.000Z";
    const marked = await store.markInterrupted(now);

    expect(marked.map((r) => r.id)).toEqual(["cut-sync", "cut-check"]);
    expect(marked[0]).toMatchObject({ outcome: "interrupted", endedAt: now, error: { kind: "interrupted" } });
    expect(marked[0]?.error?.recovery).toMatch(/pending operations/);
    expect(await store.run("cut-check")).toEqual(marked[1]);
    expect((await store.run("done"))?.outcome).toBe("succeeded");
    expect((await store.interruptedRuns()).map((r) => r.id)).toEqual(["cut-sync", "cut-check"]);
    expect(await store.markInterrupted(now)).toEqual([]);
  });

  it("lets the process that owns a run still record its real outcome", async () => {
    const owner = openStore();
    await owner.startRun(newRun("r1"));
    await openStore().markInterrupted("2025-03-04T10:00:00.000Z"); // a second process starting up
    await owner.finishRun("r1", "succeeded");
    expect(await owner.run("r1")).toMatchObject({
      outcome: "succeeded",
      endedAt: "2025-03-04T12:00:00.000Z",
    });
    expect(await owner.run("r1")).not.toHaveProperty("error");
  });
});

describe("statuses", () => {
  it("replace per environment, listed by name, never overwritten by an older state", async () => {
    const store = openStore();
    await store.setStatus(state("test"));
    await store.setStatus(state("prod", { status: "OutOfSync", pendingCount: 2, headCommit: "abc" }));
    await store.setStatus(
      state("test", { status: "Drifted", driftCount: 3, updatedAt: "2025-03-04T09:10:00.000Z" }),
    );
    await store.setStatus(state("test", { status: "Failed", updatedAt: "2025-03-04T09:05:00.000Z" })); // late, older

    expect((await store.statuses()).map((s) => [s.environment, s.status])).toEqual([
      ["prod", "OutOfSync"],
      ["test", "Drifted"],
    ]);
    expect((await store.status("test"))?.driftCount).toBe(3);
    expect(await store.status("stage")).toBeUndefined();
    expect(await storeError(async () => await store.setStatus(state("test", { pendingCount: -1 })))).toBe(
      "invalid-input",
    );
  });
});

describe("reports", () => {
  const at = (runId: string, startedAt: string, status: CheckReport["status"] = "Synced") =>
    sampleReport({ runId, startedAt, endedAt: startedAt, status });

  it("keep history, newest first, per environment", async () => {
    const store = openStore();
    await store.saveReport(at("r2", "2025-03-04T10:00:00.000Z", "Drifted"));
    await store.saveReport(at("r1", "2025-03-04T09:00:00.000Z"));
    await store.saveReport(at("r3", "2025-03-04T11:00:00.000Z", "OutOfSync"));
    await store.saveReport(
      sampleReport({ runId: "p1", environment: "prod", startedAt: "2025-03-04T12:00:00.000Z" }),
    );

    expect(await store.reports("test", 10)).toEqual([
      { runId: "r3", startedAt: "2025-03-04T11:00:00.000Z", status: "OutOfSync" },
      { runId: "r2", startedAt: "2025-03-04T10:00:00.000Z", status: "Drifted" },
      { runId: "r1", startedAt: "2025-03-04T09:00:00.000Z", status: "Synced" },
    ]);
    expect((await store.reports("test", 2)).map((r) => r.runId)).toEqual(["r3", "r2"]);
    expect((await store.latestReport("test"))?.runId).toBe("r3");
    expect((await store.latestReport("prod"))?.runId).toBe("p1");
    expect(await store.latestReport("stage")).toBeUndefined();
    expect(await store.report("r1")).toEqual(at("r1", "2025-03-04T09:00:00.000Z"));
    expect(await store.report("nope")).toBeUndefined();
  });

  it("accept the same report twice but never rewrite one", async () => {
    const store = openStore();
    await store.saveReport(sampleReport());
    await store.saveReport(sampleReport());
    expect(await store.reports("test", 10)).toHaveLength(1);
    expect(await storeError(async () => await store.saveReport(sampleReport({ status: "Synced" })))).toBe(
      "conflict",
    );
    expect((await store.report("run-0001"))?.status).toBe("OutOfSync+Drifted");
  });

  it("refuse an invalid report, and name a damaged one on the way out", async () => {
    const store = openStore();
    expect(await storeError(async () => await store.saveReport({ ...sampleReport(), runId: "" }))).toBe(
      "invalid-input",
    );

    await store.saveReport(sampleReport());
    raw((db) => db.exec(`UPDATE reports SET body = json_remove(body, '$.runId')`));
    await expect(store.report("run-0001")).rejects.toThrow(/stored report of run run-0001 .*runId/);
    expect(await storeError(async () => await store.latestReport("test"))).toBe("corrupt");
  });
});

describe("two processes on one file", () => {
  it("see each other's writes", async () => {
    const a = openStore();
    const b = openStore();
    await a.startRun(newRun("r1"));
    expect((await b.run("r1"))?.id).toBe("r1");
    await b.finishRun("r1", "succeeded");
    expect((await a.run("r1"))?.outcome).toBe("succeeded");
    await b.saveReport(sampleReport());
    expect((await a.latestReport("test"))?.runId).toBe("run-0001");
    await a.setStatus(state("test"));
    expect(await b.statuses()).toHaveLength(1);
  });

  it("wait for a lock another writer holds, instead of failing", async () => {
    await openStore().close(); // create the schema first
    const holder = holdWriteLock(temp.file, 300);
    await holder.locked;

    const started = Date.now();
    await openStore().startRun(newRun("r1")); // blocks until the other writer commits
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    await holder.done;
    expect((await openStore().run("r1"))?.id).toBe("r1");
  });

  it("fail with a typed error when the lock outlasts the busy timeout", async () => {
    const store = openStore({ busyTimeoutMs: 50 });
    const holder = holdWriteLock(temp.file, 400);
    await holder.locked;
    try {
      expect(await storeError(async () => await store.startRun(newRun("r1")))).toBe("busy");
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
  it("restores process.emitWarning after loading", async () => {
    const before = process.emitWarning;
    loadSqlite();
    expect(process.emitWarning).toBe(before);
  });

  it("drops only SQLite's ExperimentalWarning, in a fresh process", async () => {
    const script = path.join(temp.dir, "open-store.ts");
    fs.writeFileSync(
      script,
      [
        `import { openSqliteStore } from ${JSON.stringify(path.join(REPO, "src", "adapters", "store", "sqlite"))};`,
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
