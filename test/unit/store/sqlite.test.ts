import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { loadSqlite } from "../../../src/adapters/store/load-sqlite";
import { MIGRATIONS } from "../../../src/adapters/store/migrations";
import type { NewRun } from "../../../src/adapters/store/port";
import { sampleReport } from "../report/fixture";
import { approval, commandResult } from "../../contract/store/harness";
import { storeError, useTempStore } from "./temp-store";

// What only the SQLite store has: its file, schema migrations, locks between processes, damaged
// rows and node:sqlite's warning. Its behaviour as a store is the contract suite's (test/contract).

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
  owner: "host-a/4242/1000/aaaa1111",
  startedAt: T0,
  ...overrides,
});

describe("the file", () => {
  it("is migrated once, in WAL mode, and survives a reopen", async () => {
    const first = openStore();
    await first.startRun(newRun("r1"));
    await first.close();
    expect((await openStore().run("r1"))?.id).toBe("r1");

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

describe("migration", () => {
  it("brings a file of the first schema up to date and keeps its data", async () => {
    // A store as the first release wrote it, with a run a crash left open.
    fs.mkdirSync(path.dirname(temp.file), { recursive: true });
    raw((db) => {
      db.exec("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL) STRICT");
      db.exec(MIGRATIONS[0] as string);
      db.exec("INSERT INTO schema_version VALUES (1, '2025-01-01T00:00:00.000Z')");
      db.exec(
        `INSERT INTO runs (id, environment, stack, kind, triggered_by, started_at, started_ms)
         VALUES ('r1', 'test', 'test', 'check', 'schedule', '2025-01-01T00:00:00.000Z', 0)`,
      );
    });

    const store = openStore();
    const run = await store.run("r1");
    expect(run?.environment).toBe("test");
    expect(run).not.toHaveProperty("owner");
    expect(run).not.toHaveProperty("heartbeatAt");
    await store.addApproval(approval("a1"));
    expect(await store.approvals("prod")).toHaveLength(1);
    expect(await store.addRequest({ environment: "prod", reason: "r", priority: "person", at: T0 })).toBe(1);

    // A run from before owners: the sweep is asked with no owner and no heartbeat.
    const asked: unknown[] = [];
    const marked = await store.markInterrupted({
      now: T0,
      isDead: (owner, heartbeatAt) => {
        asked.push([owner, heartbeatAt]);
        return true;
      },
    });
    expect(asked).toEqual([[undefined, undefined]]);
    expect(marked.map((r) => r.id)).toEqual(["r1"]);

    const versions = raw((db) => db.prepare("SELECT version FROM schema_version ORDER BY version").all());
    expect(versions.map((v) => v.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
  });
});

describe("damaged rows", () => {
  it("are named on the way out: a report, a check result, a run", async () => {
    const store = openStore();
    await store.saveReport(sampleReport());
    raw((db) => db.exec(`UPDATE reports SET body = json_remove(body, '$.runId')`));
    await expect(store.report("run-0001")).rejects.toThrow(/stored report of run run-0001 .*runId/);
    expect(await storeError(async () => await store.latestReport("test"))).toBe("corrupt");

    await store.saveCommandResult("stage", "k1", commandResult());
    raw((db) => db.exec(`UPDATE check_results SET body = json_remove(body, '$.output')`));
    await expect(store.commandResult("stage", "k1")).rejects.toThrow(
      /stored check result k1 of environment stage .*output/,
    );

    await store.startRun(newRun("r1"));
    raw((db) => db.exec(`UPDATE runs SET mode = 'sometimes' WHERE id = 'r1'`));
    expect(await storeError(async () => await store.run("r1"))).toBe("corrupt");
  });
});

describe("two processes on one file", () => {
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
