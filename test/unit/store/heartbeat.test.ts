import { spawnSync } from "node:child_process";
import * as os from "node:os";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ownerDeadness, processOwner, processStart } from "../../../src/adapters/owner";
import { Heartbeat } from "../../../src/adapters/store/heartbeat";
import { openMemoryStore } from "../../../src/adapters/store/memory";
import { parseOwnerId } from "../../../src/domain/owner";

// A process's start time is read from /proc: elsewhere these tests say why they did not run.
const LINUX = process.platform === "linux";
const LINUX_REASON = LINUX ? "" : " — skipped: needs Linux's /proc for process start times";

const T0 = "2025-03-04T09:00:00.000Z";

describe("this process as an owner", () => {
  it("is named by host, pid and start time, and is alive", () => {
    const owner = processOwner();
    const parts = parseOwnerId(owner);
    expect(parts).toMatchObject({ host: os.hostname(), pid: process.pid });
    expect(parts?.start).toBe(processStart(process.pid) ?? "");
    expect(processOwner()).not.toBe(owner); // a new suffix each time
    expect(ownerDeadness()(owner, undefined)).toBe(false);
  });

  it.runIf(LINUX)(`is dead once its process has exited${LINUX_REASON}`, () => {
    const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], {
      encoding: "utf8",
    });
    const pid = Number(child.stdout);
    expect(pid).toBeGreaterThan(0);
    expect(ownerDeadness()(`${os.hostname()}/${pid}/1/gone`, new Date().toISOString())).toBe(true);
  });

  it.runIf(LINUX)(`is dead when its pid now runs a process started at another time${LINUX_REASON}`, () => {
    const reused = `${os.hostname()}/${process.pid}/${Number(processStart(process.pid)) + 1}/x`;
    expect(ownerDeadness()(reused, new Date().toISOString())).toBe(true);
  });
});

describe("Heartbeat", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("beats while a run is in flight and stops after the last one", async () => {
    vi.useFakeTimers({ now: Date.parse(T0) });
    const store = openMemoryStore();
    const owner = "here/1/1/x";
    await store.startRun({
      id: "r1",
      environment: "test",
      stack: "test",
      kind: "check",
      trigger: "t",
      owner,
      startedAt: T0,
    });
    const beats = vi.spyOn(store, "heartbeat");
    const heartbeat = new Heartbeat({ store, owner, intervalMs: 10_000 });

    let finishFirst = () => {};
    const first = heartbeat.during(() => new Promise<void>((resolve) => (finishFirst = resolve)));
    const second = heartbeat.during(async () => {
      await vi.advanceTimersByTimeAsync(25_000);
    });
    await second;
    expect(beats).toHaveBeenCalledTimes(2); // one timer for both runs
    expect((await store.run("r1"))?.heartbeatAt).toBe("2025-03-04T09:00:20.000Z");

    await vi.advanceTimersByTimeAsync(10_000); // the first run still in flight
    expect(beats).toHaveBeenCalledTimes(3);
    finishFirst();
    await first;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(beats).toHaveBeenCalledTimes(3);
  });

  it("reports a beat the store refused and keeps beating", async () => {
    vi.useFakeTimers({ now: Date.parse(T0) });
    const failure = new Error("store busy");
    const store = { heartbeat: vi.fn().mockRejectedValueOnce(failure).mockResolvedValue(0) };
    const errors: unknown[] = [];
    const heartbeat = new Heartbeat({ store, owner: "o", intervalMs: 1000, onError: (e) => errors.push(e) });
    await heartbeat.during(async () => {
      await vi.advanceTimersByTimeAsync(2500);
    });
    expect(errors).toEqual([failure]);
    expect(store.heartbeat).toHaveBeenCalledTimes(2);
  });
});
