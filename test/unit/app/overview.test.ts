import { describe, expect, it } from "vitest";
import { person } from "../../../src/app/actor";
import { NotFoundError, UnknownEnvironmentError } from "../../../src/app/errors";
import { environmentsOverview, historyPage } from "../../../src/app/overview";
import { requestLook, requestProgress } from "../../../src/app/requests";
import { openMemoryStore } from "../../../src/adapters/store/memory";
import type { Store } from "../../../src/adapters/store/port";
import type { EnvironmentStatus } from "../../../src/domain/model";
import { sampleReport } from "../report/fixture";

const ENVIRONMENTS = [
  { name: "test", branch: "test", stack: "test" },
  { name: "prod", branch: "prod", stack: "prod" },
];

async function record(
  store: Store,
  id: string,
  status: EnvironmentStatus,
  startedAt: string,
  trigger = "schedule",
) {
  await store.startRun({
    id,
    environment: "prod",
    stack: "prod",
    kind: "check",
    trigger,
    owner: "h/1/0/x",
    startedAt,
  });
  await store.finishRun(id, "succeeded");
  await store.saveReport(
    sampleReport({
      runId: id,
      environment: "prod",
      stack: "prod",
      branch: "prod",
      status,
      startedAt,
      endedAt: startedAt,
    }),
  );
}

describe("the API's read use cases", () => {
  it("overview: every environment with since when it is in its status, its head commit and gates", async () => {
    const store = openMemoryStore();
    await record(store, "r1", "Synced", "2026-01-01T00:00:00.000Z");
    await record(store, "r2", "OutOfSync+Drifted", "2026-01-02T00:00:00.000Z");
    await record(store, "r3", "OutOfSync+Drifted", "2026-01-03T00:00:00.000Z");
    const head = sampleReport().desired;
    await store.setStatus({
      environment: "prod",
      branch: "prod",
      stack: "prod",
      status: "OutOfSync+Drifted",
      headCommit: head?.sha,
      pendingCount: 1,
      driftCount: 1,
      updatedAt: "2026-01-03T00:00:00.000Z",
    });
    const [test, prod] = await environmentsOverview({ store, environments: ENVIRONMENTS });
    expect(test).toMatchObject({ environment: "test", status: "Unknown", gates: [] });
    expect(test?.statusSince).toBeUndefined();
    expect(prod).toMatchObject({
      status: "OutOfSync+Drifted",
      statusSince: "2026-01-02T00:00:00.000Z",
      head,
    });
  });

  it("history pages: newest first, with the total", async () => {
    const store = openMemoryStore();
    for (let i = 1; i <= 5; i++) await record(store, `r${i}`, "Synced", `2026-01-0${i}T00:00:00.000Z`);
    const page = await historyPage({ store, environments: ENVIRONMENTS }, "prod", { page: 2, limit: 2 });
    expect(page.items.map((e) => e.runId)).toEqual(["r3", "r2"]);
    expect(page).toMatchObject({ page: 2, limit: 2, total: 5 });
    await expect(
      historyPage({ store, environments: ENVIRONMENTS }, "qa", { page: 1, limit: 2 }),
    ).rejects.toThrow(UnknownEnvironmentError);
  });

  it("a request is enqueued for the daemon and followed to the run whose trigger carries it", async () => {
    const store = openMemoryStore();
    const ports = {
      store,
      environments: ENVIRONMENTS,
      now: () => new Date("2026-02-01T00:00:00.000Z"),
      newId: () => "abc",
    };
    const request = await requestLook(ports, "prod", "sync", person("ada@example.com"));
    expect(request).toMatchObject({
      environment: "prod",
      kind: "sync",
      reason: "sync requested by ada@example.com (request abc)",
    });
    const [stored] = await store.requestsSince(0);
    expect(stored).toMatchObject({ seq: request.seq, priority: "person", actor: "ada@example.com" });
    expect((await requestProgress(ports, "prod", request.seq)).state).toBe("waiting");

    // The daemon folds requests into one run; its trigger joins their reasons.
    await record(store, "run-1", "Synced", "2026-02-01T00:00:02.000Z", `schedule, ${request.reason}`);
    const progress = await requestProgress(ports, "prod", request.seq);
    expect(progress).toMatchObject({ state: "finished", run: { id: "run-1", outcome: "succeeded" } });
    await expect(requestProgress(ports, "prod", request.seq + 1)).rejects.toThrow(NotFoundError);
    await expect(requestProgress(ports, "test", request.seq)).rejects.toThrow(NotFoundError);
    await expect(requestLook(ports, "qa", "check", person("x"))).rejects.toThrow(UnknownEnvironmentError);
  });
});
