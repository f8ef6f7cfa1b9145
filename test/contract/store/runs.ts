import { describe, expect, it } from "vitest";
import type { RunReport } from "../../../src/domain/model";
import type { IsDead } from "../../../src/domain/owner";
import { sampleReport } from "../../unit/report/fixture";
import {
  newRun,
  OWNER,
  secondHandle,
  state,
  STORE_NOW,
  storeError,
  T0,
  useStore,
  type StoreFactory,
} from "./harness";

// Runs, statuses and reports: what every store keeps the same way.

const OTHER = "host-b/77/2000/bbbb2222";

export function runContract(factory: StoreFactory): void {
  const handles = useStore(factory);

  describe("runs", () => {
    it("go from started to finished, newest first", async () => {
      const store = await handles.open();
      await store.startRun(newRun("r1"));
      await store.startRun(
        newRun("r2", { startedAt: "2025-03-04T09:05:00.000Z", kind: "sync", commit: undefined }),
      );
      await store.startRun(
        newRun("r3", { environment: "prod", stack: "prod", startedAt: "2025-03-04T09:10:00.000Z" }),
      );

      expect(await store.run("r1")).toEqual({ ...newRun("r1"), heartbeatAt: T0 });
      expect(await store.run("r2")).not.toHaveProperty("commit");

      await store.finishRun("r1", "succeeded");
      await store.finishRun("r2", "failed", { kind: "lock-held", message: "locked", recovery: "wait" });

      expect(await store.run("r1")).toEqual({
        ...newRun("r1"),
        heartbeatAt: T0,
        endedAt: STORE_NOW,
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

    it("order by time even when the offsets differ, then by when they were recorded", async () => {
      const store = await handles.open();
      await store.startRun(newRun("late", { startedAt: "2025-03-04T10:30:00+02:00" })); // 08:30Z
      await store.startRun(newRun("early", { startedAt: "2025-03-04T09:00:00Z" }));
      await store.startRun(newRun("same", { startedAt: "2025-03-04T09:00:00.000Z" }));
      expect((await store.runs()).map((r) => r.id)).toEqual(["same", "early", "late"]);
    });

    it("keep their mode and owner, and the commit they observed", async () => {
      const store = await handles.open();
      await store.startRun(newRun("r1", { commit: undefined, mode: "report" }));
      await store.setRunCommit("r1", "9a8b7c6d5e4f");
      await store.finishRun("r1", "succeeded");
      await store.setRunCommit("r1", "9a8b7c6d5e4f"); // the same again, after the end
      expect(await store.run("r1")).toMatchObject({ commit: "9a8b7c6d5e4f", mode: "report", owner: OWNER });
      expect(await storeError(async () => await store.setRunCommit("nope", "abc"))).toBe("not-found");
      expect(await storeError(async () => await store.setRunCommit("r1", ""))).toBe("invalid-input");
    });

    it("are copies: changing a record given or returned changes nothing stored", async () => {
      const store = await handles.open();
      const run = newRun("r1");
      await store.startRun(run);
      run.environment = "prod";
      const read = await store.run("r1");
      if (read) read.environment = "stage";
      expect((await store.run("r1"))?.environment).toBe("test");
    });

    it("refuse a duplicate id, an unknown run, a second finish and bad arguments", async () => {
      const store = await handles.open();
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
      expect(await storeError(async () => await store.startRun(newRun("r3", { owner: "" })))).toBe(
        "invalid-input",
      );
      expect(await store.run("r2")).toBeUndefined();
    });
  });

  describe("heartbeats and interrupted runs", () => {
    const deadOwners =
      (...dead: string[]): IsDead =>
      (owner) =>
        owner !== undefined && dead.includes(owner);

    it("a heartbeat touches the owner's unfinished runs only, and never goes back", async () => {
      const store = await handles.open();
      await store.startRun(newRun("open-1"));
      await store.startRun(newRun("open-2", { startedAt: "2025-03-04T09:01:00.000Z" }));
      await store.startRun(newRun("done"));
      await store.finishRun("done", "succeeded");
      await store.startRun(newRun("other", { owner: OTHER }));

      expect(await store.heartbeat(OWNER, "2025-03-04T09:30:00.000Z")).toBe(2);
      expect(await store.heartbeat(OWNER, "2025-03-04T09:20:00.000Z")).toBe(2); // late, older: ignored
      expect((await store.run("open-1"))?.heartbeatAt).toBe("2025-03-04T09:30:00.000Z");
      expect((await store.run("open-2"))?.heartbeatAt).toBe("2025-03-04T09:30:00.000Z");
      expect((await store.run("done"))?.heartbeatAt).toBe(T0);
      expect((await store.run("other"))?.heartbeatAt).toBe(T0);
      expect(await store.heartbeat("nobody", "2025-03-04T09:30:00.000Z")).toBe(0);
      expect(await storeError(async () => await store.heartbeat(OWNER, "later"))).toBe("invalid-input");
    });

    it("marks interrupted only the unfinished runs of dead owners, once, newest first", async (ctx) => {
      const crashed = await handles.open();
      await crashed.startRun(newRun("done"));
      await crashed.finishRun("done", "succeeded");
      await crashed.startRun(newRun("cut-check", { startedAt: "2025-03-04T09:01:00.000Z" }));
      await crashed.startRun(newRun("cut-sync", { kind: "sync", startedAt: "2025-03-04T09:02:00.000Z" }));
      // The daemon's check of an auto-sync environment: it may have been applying its commit.
      await crashed.startRun(
        newRun("cut-reconcile", { mode: "reconcile", startedAt: "2025-03-04T09:00:30.000Z" }),
      );
      await crashed.startRun(newRun("alive", { owner: OTHER, startedAt: "2025-03-04T09:03:00.000Z" }));
      await crashed.heartbeat(OTHER, "2025-03-04T09:04:00.000Z");

      const store = await secondHandle(handles, ctx); // a process starting up after the crash
      const now = "2025-03-04T13:00:00.000Z";
      const asked: [string | undefined, string | undefined][] = [];
      const marked = await store.markInterrupted({
        now,
        isDead: (owner, heartbeatAt) => {
          asked.push([owner, heartbeatAt]);
          return owner === OWNER;
        },
      });

      expect(marked.map((r) => r.id)).toEqual(["cut-sync", "cut-check", "cut-reconcile"]);
      expect(asked).toContainEqual([OTHER, "2025-03-04T09:04:00.000Z"]);
      expect(marked[0]).toMatchObject({
        outcome: "interrupted",
        endedAt: now,
        error: { kind: "interrupted" },
      });
      expect(marked[0]?.error?.recovery).toMatch(/pending operations/);
      expect(marked[1]?.error?.recovery).toMatch(/nothing was changed/);
      expect(marked[2]?.error?.recovery).toMatch(/pending operations/);
      expect(await store.run("cut-check")).toEqual(marked[1]);
      expect((await store.run("done"))?.outcome).toBe("succeeded");
      expect(await store.run("alive")).not.toHaveProperty("endedAt");
      expect((await store.interruptedRuns()).map((r) => r.id)).toEqual([
        "cut-sync",
        "cut-check",
        "cut-reconcile",
      ]);
      expect(await store.markInterrupted({ now, isDead: deadOwners(OWNER) })).toEqual([]);
      expect(
        await storeError(async () => await store.markInterrupted({ now: "now", isDead: () => true })),
      ).toBe("invalid-input");
    });

    it("let the process that owns a run still record its real outcome", async (ctx) => {
      const owner = await handles.open();
      await owner.startRun(newRun("r1"));
      const sweeper = await secondHandle(handles, ctx); // wrongly took the owner for dead
      await sweeper.markInterrupted({ now: "2025-03-04T10:00:00.000Z", isDead: deadOwners(OWNER) });
      await owner.finishRun("r1", "succeeded");
      expect(await owner.run("r1")).toMatchObject({ outcome: "succeeded", endedAt: STORE_NOW });
      expect(await owner.run("r1")).not.toHaveProperty("error");
    });
  });

  describe("restart", () => {
    it("keeps runs, statuses and reports across close and reopen", async (ctx) => {
      const first = await handles.open();
      await first.startRun(newRun("r1"));
      await first.finishRun("r1", "succeeded");
      await first.setStatus(
        state("test", { status: "Drifted", driftCount: 1, lastRunId: "r1", reason: "tags changed" }),
      );
      await first.saveReport(sampleReport({ runId: "r1" }));
      await first.close();
      await first.close(); // closing twice is harmless

      const second = await secondHandle(handles, ctx);
      expect((await second.run("r1"))?.outcome).toBe("succeeded");
      expect(await second.status("test")).toEqual(
        state("test", { status: "Drifted", driftCount: 1, lastRunId: "r1", reason: "tags changed" }),
      );
      expect(await second.latestReport("test")).toEqual(sampleReport({ runId: "r1" }));
    });
  });

  describe("statuses", () => {
    it("replace per environment, listed by name, never overwritten by an older state", async () => {
      const store = await handles.open();
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
      expect(await store.status("prod")).toEqual(
        state("prod", { status: "OutOfSync", pendingCount: 2, headCommit: "abc" }),
      );
      expect(await store.status("stage")).toBeUndefined();
      expect(await storeError(async () => await store.setStatus(state("test", { pendingCount: -1 })))).toBe(
        "invalid-input",
      );
      expect(await storeError(async () => await store.setStatus(state("test", { updatedAt: "soon" })))).toBe(
        "invalid-input",
      );
    });

    it("keep a stale marking with the status it qualifies, and drop it when a state comes without one", async () => {
      const store = await handles.open();
      const stale = {
        since: "2025-03-04T09:06:00.000Z",
        lastPollAt: "2025-03-04T09:05:00.000Z",
        reason: "git ls-remote timed out",
      };
      await store.setStatus(state("test", { status: "Synced", stale }));
      expect(await store.status("test")).toEqual(state("test", { status: "Synced", stale }));
      const withoutPoll = { since: stale.since, reason: stale.reason };
      await store.setStatus(state("test", { stale: withoutPoll, updatedAt: "2025-03-04T09:07:00.000Z" }));
      expect((await store.status("test"))?.stale).toEqual(withoutPoll);
      await store.setStatus(state("test", { status: "Stalled", updatedAt: "2025-03-04T09:08:00.000Z" }));
      const [listed] = await store.statuses();
      expect(listed?.status).toBe("Stalled");
      expect(listed?.stale).toBeUndefined();
    });
  });

  describe("reports", () => {
    const at = (runId: string, startedAt: string, status: RunReport["status"] = "Synced") =>
      sampleReport({ runId, startedAt, endedAt: startedAt, status });

    it("keep history, newest first, per environment", async () => {
      const store = await handles.open();
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
      expect((await store.reports("test", 2, 1)).map((r) => r.runId)).toEqual(["r2", "r1"]);
      expect(await store.reports("test", 2, 3)).toEqual([]);
      expect(await storeError(async () => await store.reports("test", 1, -1))).toBe("invalid-input");
      expect(await store.reportCount("test")).toBe(3);
      expect(await store.reportCount("prod")).toBe(1);
      expect(await store.reportCount("stage")).toBe(0);
      expect((await store.latestReport("test"))?.runId).toBe("r3");
      expect((await store.latestReport("prod"))?.runId).toBe("p1");
      expect(await store.latestReport("stage")).toBeUndefined();
      expect(await store.report("r1")).toEqual(at("r1", "2025-03-04T09:00:00.000Z"));
      expect(await store.report("nope")).toBeUndefined();
      expect(await storeError(async () => await store.reports("test", 0))).toBe("invalid-input");
    });

    it("say since when an environment's reports hold a status: the newest unbroken series", async () => {
      const store = await handles.open();
      expect(await store.statusSince("test", "Synced")).toBeUndefined();
      await store.saveReport(at("r1", "2025-03-04T09:00:00.000Z", "AwaitingApproval"));
      await store.saveReport(at("r2", "2025-03-04T10:00:00.000Z", "Synced"));
      await store.saveReport(at("r3", "2025-03-04T11:00:00.000Z", "AwaitingApproval"));
      await store.saveReport(at("r4", "2025-03-04T11:00:00.000Z", "AwaitingApproval")); // same time: recorded later
      await store.saveReport(at("r5", "2025-03-04T12:00:00.000Z", "AwaitingApproval"));
      await store.saveReport(
        sampleReport({
          runId: "p1",
          environment: "prod",
          startedAt: "2025-03-04T13:00:00.000Z",
          status: "Synced",
        }),
      );
      expect(await store.statusSince("test", "AwaitingApproval")).toBe("2025-03-04T11:00:00.000Z");
      expect(await store.statusSince("test", "Synced")).toBeUndefined(); // the newest says otherwise
      expect(await store.statusSince("prod", "Synced")).toBe("2025-03-04T13:00:00.000Z");
      expect(await store.statusSince("stage", "Synced")).toBeUndefined();

      await store.saveReport(at("r6", "2025-03-04T12:30:00.000Z", "Synced"));
      expect(await store.statusSince("test", "Synced")).toBe("2025-03-04T12:30:00.000Z");
      expect(await store.statusSince("test", "AwaitingApproval")).toBeUndefined();
    });

    it("date a status held by every report from the oldest one", async () => {
      const store = await handles.open();
      await store.saveReport(at("r1", "2025-03-04T09:00:00.000Z", "Drifted"));
      await store.saveReport(at("r2", "2025-03-04T10:00:00.000Z", "Drifted"));
      expect(await store.statusSince("test", "Drifted")).toBe("2025-03-04T09:00:00.000Z");
    });

    it("accept the same report twice but never rewrite one", async () => {
      const store = await handles.open();
      await store.saveReport(sampleReport());
      await store.saveReport(sampleReport());
      expect(await store.reports("test", 10)).toHaveLength(1);
      expect(await store.reportCount("test")).toBe(1);
      expect(await storeError(async () => await store.saveReport(sampleReport({ status: "Synced" })))).toBe(
        "conflict",
      );
      expect((await store.report("run-0001"))?.status).toBe("OutOfSync+Drifted");
    });

    it("refuse a report the report schema refuses", async () => {
      const store = await handles.open();
      expect(await storeError(async () => await store.saveReport({ ...sampleReport(), runId: "" }))).toBe(
        "invalid-input",
      );
      expect(
        await storeError(
          async () => await store.saveReport({ ...sampleReport(), status: "Fine" as RunReport["status"] }),
        ),
      ).toBe("invalid-input");
      expect(await store.reports("test", 10)).toEqual([]);
    });
  });

  describe("two processes on one store", () => {
    it("see each other's writes", async (ctx) => {
      const a = await handles.open();
      const b = await secondHandle(handles, ctx);
      await a.startRun(newRun("r1"));
      expect((await b.run("r1"))?.id).toBe("r1");
      await b.finishRun("r1", "succeeded");
      expect((await a.run("r1"))?.outcome).toBe("succeeded");
      await b.saveReport(sampleReport());
      expect((await a.latestReport("test"))?.runId).toBe("run-0001");
      await a.setStatus(state("test"));
      expect(await b.statuses()).toHaveLength(1);
    });
  });
}
