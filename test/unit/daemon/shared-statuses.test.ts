import { describe, expect, it } from "vitest";
import { openMemoryStore } from "../../../src/adapters/store/memory";
import { SharedStatuses } from "../../../src/daemon/shared-statuses";
import type { EnvironmentState } from "../../../src/domain/model";

function state(environment: string, headCommit: string): EnvironmentState {
  return {
    environment,
    branch: environment,
    stack: environment,
    status: "Synced",
    headCommit,
    pendingCount: 0,
    driftCount: 0,
    updatedAt: "2026-01-01T00:00:00.000Z",
  };
}

/** The memory store, counting the reads of one status and of all of them; the test sets the clock. */
async function world() {
  const store = openMemoryStore();
  await store.setStatus(state("dev", "d1"));
  await store.setStatus(state("prod", "p1"));
  const reads = { all: 0, one: 0 };
  let clock = 1_000;
  const shared = new SharedStatuses(
    {
      statuses: () => (reads.all++, store.statuses()),
      status: (name) => (reads.one++, store.status(name)),
    },
    () => clock,
  );
  return { store, shared, reads, at: (ms: number) => (clock = ms) };
}

const tick = (ms: number) => new Date(ms);

describe("SharedStatuses", () => {
  it("answers the polls of one tick from one read of every status", async () => {
    const { shared, reads } = await world();
    const [dev, prod] = await Promise.all([
      shared.status("dev", tick(900)),
      shared.status("prod", tick(900)),
    ]);
    expect([dev?.headCommit, prod?.headCommit]).toEqual(["d1", "p1"]);
    expect(reads).toEqual({ all: 1, one: 0 });
  });

  it("reads again for a tick after the last read started: never an older status than the tick", async () => {
    const { store, shared, reads, at } = await world();
    expect((await shared.status("dev", tick(900)))?.headCommit).toBe("d1");
    await store.setStatus(state("dev", "d2"));
    at(2_000);
    expect((await shared.status("dev", tick(1_500)))?.headCommit).toBe("d2");
    expect(reads.all).toBe(2);
  });

  it("reads a forgotten status (this process wrote it) from the store, not from the shared read", async () => {
    const { store, shared, reads } = await world();
    await shared.status("dev", tick(900));
    await store.setStatus(state("dev", "d2"));
    shared.forget("dev");
    expect((await shared.status("dev", tick(900)))?.headCommit).toBe("d2");
    expect((await shared.status("prod", tick(900)))?.headCommit).toBe("p1");
    expect(reads).toEqual({ all: 1, one: 1 });
  });

  it("reads an environment with no status yet from the store", async () => {
    const { shared, reads } = await world();
    expect(await shared.status("stage", tick(900))).toBeUndefined();
    expect(reads).toEqual({ all: 1, one: 1 });
  });

  it("after a failed shared read (a corrupt row), reads each status on its own, and shares again later", async () => {
    const { store } = await world();
    let corrupt = true;
    let all = 0;
    const shared = new SharedStatuses({
      statuses: () => (
        all++,
        corrupt
          ? Promise.reject(new Error("stored status of environment prod does not match"))
          : store.statuses()
      ),
      status: (name) =>
        name === "prod" && corrupt
          ? Promise.reject(new Error("stored status of environment prod does not match"))
          : store.status(name),
    });
    // Only the environment whose row is bad fails.
    expect((await shared.status("dev", new Date(0)))?.headCommit).toBe("d1");
    await expect(shared.status("prod", new Date(0))).rejects.toThrow("prod does not match");
    expect(all).toBe(1);
    // The next tick shares a read again.
    corrupt = false;
    expect((await shared.status("prod", new Date(Date.now() + 1_000)))?.headCommit).toBe("p1");
    expect(all).toBe(2);
  });
});
