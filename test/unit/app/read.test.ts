import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NotFoundError, UnknownEnvironmentError } from "../../../src/app/errors";
import {
  auditEntries,
  auditHead,
  history,
  latestReport,
  runReport,
  status,
  verifyAudit,
} from "../../../src/app/read";
import type { Store } from "../../../src/adapters/store/port";
import { openAuditLog, openExistingStore, openStore, storeSpec } from "../../../src/compose";
import type { RunReport, RunKind } from "../../../src/domain/model";

const ENVIRONMENTS = [
  { name: "test", branch: "test", stack: "test" },
  { name: "prod", branch: "main", stack: "prod" },
];

describe("the read-only use cases", () => {
  let dataDir: string;
  let store: Store;
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-read-"));
    store = openStore(storeSpec({ dataDir }));
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function recordRun(id: string, environment: string, kind: RunKind, startedAt: string): Promise<void> {
    await store.startRun({
      id,
      environment,
      stack: environment,
      kind,
      trigger: `cli:${id}`,
      owner: "test-host/1/0/read",
      startedAt,
    });
    await store.finishRun(id, "succeeded");
    await store.saveReport(report(id, environment, startedAt));
  }

  it("status lists every configured environment in order; one never checked is Unknown", async () => {
    await store.setStatus({
      environment: "prod",
      branch: "main",
      stack: "prod",
      status: "Drifted",
      pendingCount: 0,
      driftCount: 2,
      updatedAt: "2025-06-01T00:00:00Z",
    });
    const rows = await status({ store, environments: ENVIRONMENTS });
    expect(rows.map((r) => [r.environment, r.status, r.driftCount])).toEqual([
      ["test", "Unknown", 0],
      ["prod", "Drifted", 2],
    ]);
    // Without the configuration (Git unreachable), the store's own rows; without a store, none.
    expect((await status({ store })).map((r) => r.environment)).toEqual(["prod"]);
    expect(await status({ environments: [] })).toEqual([]);
  });

  it("reports: the latest, one run's, and the history with how each run was started", async () => {
    await recordRun("r1", "prod", "check", "2025-06-01T10:00:00Z");
    await recordRun("r2", "prod", "sync", "2025-06-01T11:00:00Z");
    await recordRun("t1", "test", "drift", "2025-06-01T12:00:00Z");
    const read = { store, environments: ENVIRONMENTS, dataDir };

    expect((await latestReport(read, "prod")).runId).toBe("r2");
    expect((await runReport(read, "prod", "r1")).runId).toBe("r1");
    const ended = { endedAt: expect.any(String), outcome: "succeeded" };
    expect(await history(read, "prod", 10)).toEqual([
      {
        runId: "r2",
        startedAt: "2025-06-01T11:00:00Z",
        status: "Synced",
        kind: "sync",
        trigger: "cli:r2",
        ...ended,
      },
      {
        runId: "r1",
        startedAt: "2025-06-01T10:00:00Z",
        status: "Synced",
        kind: "check",
        trigger: "cli:r1",
        ...ended,
      },
    ]);
    expect((await history(read, "prod", 1)).map((e) => e.runId)).toEqual(["r2"]);
    expect((await history(read, "prod", 1, 1)).map((e) => e.runId)).toEqual(["r1"]);
    expect(await history(read, "prod", 1, 2)).toEqual([]);

    // Another environment's run is not this one's.
    await expect(runReport(read, "prod", "t1")).rejects.toThrow(
      new NotFoundError("no report of run 't1' for environment 'prod' (see tidegate report prod --history)"),
    );
    await expect(latestReport({ environments: ENVIRONMENTS, dataDir }, "test")).rejects.toThrow(
      `no report for 'test' in ${dataDir} yet`,
    );
    await expect(history(read, "qa", 5)).rejects.toBeInstanceOf(UnknownEnvironmentError);
    expect(await history({ environments: ENVIRONMENTS }, "prod", 5)).toEqual([]);
  });

  it("opening for reading creates no store", async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-read-empty-"));
    try {
      expect(await openExistingStore(storeSpec({ dataDir: empty }))).toBeUndefined();
      expect(fs.readdirSync(empty)).toEqual([]);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it("audit: filtered entries with the chain's verdict, verify and the head", async () => {
    const log = openAuditLog(dataDir, { secrets: ["hunter2-passphrase"] });
    await log.append({ actor: "alice@example.com", action: "approve", environment: "prod", reason: "ok" });
    await log.append({
      actor: "tidegate@host",
      action: "sync",
      environment: "prod",
      reason: "hunter2-passphrase",
    });
    await log.append({ actor: "tidegate@host", action: "check", environment: "test" });

    const listing = await auditEntries(log, { environment: "prod" });
    expect(listing.entries.map((e) => e.action)).toEqual(["approve", "sync"]);
    expect(listing.entries[1]?.reason).not.toContain("hunter2");
    expect(listing.verification.ok).toBe(true);
    const verified = await verifyAudit(log);
    expect(verified).toMatchObject({ ok: true, entries: 3 });
    expect(await auditHead(log)).toEqual({ ok: true, seq: 3, head: verified.ok ? verified.head : "" });

    fs.appendFileSync(log.file, "garbage\n");
    expect((await auditEntries(log)).verification.ok).toBe(false);
    expect(await auditHead(log)).toMatchObject({ ok: false, entries: 3, firstBad: { line: 4 } });
  });
});

function report(runId: string, environment: string, startedAt: string): RunReport {
  return {
    schemaVersion: 1,
    runId,
    environment,
    stack: environment,
    branch: environment,
    status: "Synced",
    startedAt,
    endedAt: startedAt,
    timings: {},
    versions: { tidegate: "test", pulumi: "test", node: "test" },
  };
}
