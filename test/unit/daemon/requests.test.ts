import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { RequestStore } from "../../../src/adapters/store/port";
import { openSqliteStore } from "../../../src/adapters/store/sqlite";
import { RequestFeed, type RequestSource, type WorkRequest } from "../../../src/daemon/requests";

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

describe("RequestFeed with a source that wakes it", () => {
  /** A source whose watch the test drives: wake() as a notification, and whether it was closed. */
  function watchedSource() {
    const requests: WorkRequest[] = [];
    const watch = { wake: () => {}, error: (_: unknown) => {}, closed: false };
    let reads = 0;
    const source: RequestSource = {
      requestsSince: async (seq) => {
        reads++;
        return requests.filter((r) => r.seq > seq);
      },
      watchRequests: async ({ onWake, onError }) => {
        watch.wake = onWake;
        watch.error = onError;
        return async () => {
          watch.closed = true;
        };
      },
    };
    const add = (environment: string) =>
      requests.push({ seq: requests.length + 1, environment, reason: "r", priority: "person", at: AT });
    return { source, watch, add, reads: () => reads };
  }
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it("reads at once when woken, though its poll interval is an hour; closes the watch on stop", async () => {
    const { source, watch, add, reads } = watchedSource();
    const seen: string[] = [];
    const feed = new RequestFeed({
      source,
      onRequest: (r) => void seen.push(r.environment),
      onError: () => {},
      intervalMs: 60 * 60_000,
    });
    feed.start();
    await vi.waitFor(() => expect(reads()).toBe(1));
    add("prod");
    await settle();
    expect(seen).toEqual([]); // asleep: nothing reads it without a wake
    watch.wake();
    await vi.waitFor(() => expect(seen).toEqual(["prod"]));
    add("stage");
    watch.wake();
    await vi.waitFor(() => expect(seen).toEqual(["prod", "stage"]));
    expect(watch.closed).toBe(false);
    await feed.stop();
    expect(watch.closed).toBe(true);
  });

  it("reads again when woken during a read, which may have missed the woken request", async () => {
    const requests: WorkRequest[] = [];
    let wake = () => {};
    let release: () => void = () => {};
    let reads = 0;
    const seen: string[] = [];
    const feed = new RequestFeed({
      source: {
        requestsSince: async (seq) => {
          const snapshot = requests.filter((r) => r.seq > seq);
          // The second read is held until the test adds and wakes: it returns what it saw before.
          if (++reads === 2) await new Promise<void>((resolve) => (release = resolve));
          return snapshot;
        },
        watchRequests: async ({ onWake }) => {
          wake = onWake;
          return async () => {};
        },
      },
      onRequest: (r) => void seen.push(r.environment),
      onError: () => {},
      intervalMs: 60 * 60_000,
    });
    feed.start();
    await vi.waitFor(() => expect(reads).toBe(1));
    wake();
    await vi.waitFor(() => expect(reads).toBe(2));
    requests.push({ seq: 1, environment: "prod", reason: "r", priority: "person", at: AT });
    wake();
    release();
    await vi.waitFor(() => expect(seen).toEqual(["prod"]));
    await feed.stop();
  });

  it("reports the watch's failure through onError and keeps polling", async () => {
    const { source, watch, add } = watchedSource();
    const errors: unknown[] = [];
    const seen: string[] = [];
    const feed = new RequestFeed({
      source,
      onRequest: (r) => void seen.push(r.environment),
      onError: (e) => errors.push(e),
      sleep: () => new Promise<void>((resolve) => setTimeout(resolve, 5)),
    });
    feed.start();
    await settle();
    watch.error(new Error("listener lost"));
    add("prod");
    await vi.waitFor(() => expect(seen).toEqual(["prod"]));
    expect(errors.map((e) => (e as Error).message)).toEqual(["listener lost"]);
    await feed.stop();
  });

  it("polls every second without a watch, every 30 s with one, unless told", async () => {
    const waits: number[] = [];
    const sleep = async (ms: number) => {
      waits.push(ms);
      await new Promise((resolve) => setImmediate(resolve));
    };
    const requestsSince = async () => [];
    for (const source of [{ requestsSince }, watchedSource().source]) {
      const feed = new RequestFeed({ source, onRequest: () => {}, onError: () => {}, sleep });
      feed.start();
      await vi.waitFor(() => expect(waits.length).toBeGreaterThan(0));
      await feed.stop();
      expect(new Set(waits.splice(0))).toEqual(new Set([source.watchRequests ? 30_000 : 1_000]));
    }
  });
});
