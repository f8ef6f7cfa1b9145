import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { RequestStore } from "../../../src/adapters/store/port";
import { openSqliteStore } from "../../../src/adapters/store/sqlite";
import { RequestFeed, type WorkRequest } from "../../../src/daemon/requests";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function storeFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-requests-"));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, "tidegate.db");
}

function open(file: string): RequestStore {
  const requests = openSqliteStore(file);
  cleanups.push(() => requests.close());
  return requests;
}

const AT = "2026-01-01T00:00:00.000Z";

describe("requests in the store's SQLite file", () => {
  it("one process adds, another reads them in order after a seq, beside the store's own tables", async () => {
    const file = storeFile();
    const store = openSqliteStore(file);
    cleanups.push(() => store.close());
    const writer = open(file);
    const reader = open(file);

    const first = await writer.addRequest({
      environment: "prod",
      reason: "approved by alice",
      priority: "person",
      actor: "alice",
      at: AT,
    });
    const second = await writer.addRequest({
      environment: "stage",
      reason: "schedule",
      priority: "schedule",
      at: AT,
    });
    expect(second).toBeGreaterThan(first);
    expect(await reader.requestsSince(0)).toEqual([
      {
        seq: first,
        environment: "prod",
        reason: "approved by alice",
        priority: "person",
        actor: "alice",
        at: AT,
      },
      { seq: second, environment: "stage", reason: "schedule", priority: "schedule", at: AT },
    ]);
    expect((await reader.requestsSince(first)).map((r) => r.seq)).toEqual([second]);
    expect(await reader.requestsSince(0, 1)).toHaveLength(1);
    expect(await store.statuses()).toEqual([]);
  });
});

describe("RequestFeed", () => {
  it("skips what was there before, then hands over every new request once, across pages", async () => {
    const requests: WorkRequest[] = [];
    const add = (environment: string) =>
      requests.push({ seq: requests.length + 1, environment, reason: "r", priority: "person", at: AT });
    add("old");
    const seen: string[] = [];
    const feed = new RequestFeed({
      source: {
        requestsSince: async (seq, limit = 100) => requests.filter((r) => r.seq > seq).slice(0, limit),
      },
      onRequest: (r) => void seen.push(r.environment),
      onError: () => {},
    });
    await feed.skipExisting();
    for (let i = 0; i < 150; i++) add(`env-${i}`);
    await feed.poll();
    await feed.poll();
    expect(seen).toHaveLength(150);
    expect(seen[0]).toBe("env-0");
    expect(seen[149]).toBe("env-149");
  });

  it("reports a failing source once until it works again, and keeps polling", async () => {
    let calls = 0;
    const errors: unknown[] = [];
    const feed = new RequestFeed({
      source: {
        requestsSince: async () => {
          calls++;
          if (calls <= 3 || calls === 5) throw new Error(`down ${calls}`);
          return [];
        },
      },
      onRequest: () => {},
      onError: (e) => errors.push(e),
      // Yields to the event loop, as a real wait does.
      sleep: () => new Promise<void>((resolve) => setImmediate(resolve)),
    });
    feed.start();
    while (calls < 6) await new Promise((resolve) => setImmediate(resolve));
    await feed.stop();
    expect(errors.map((e) => (e as Error).message)).toEqual(["down 1", "down 5"]);
  });
});
