import pg from "pg";
import { describe, expect, it, vi } from "vitest";
import { openPostgresStore, postgresPool } from "../../src/adapters/store/postgres";
import { LISTENER_NAME, REQUESTS_CHANNEL } from "../../src/adapters/store/postgres/listen";
import type { Store } from "../../src/adapters/store/port";
import { RequestFeed } from "../../src/daemon/requests";
import { postgresForFile } from "../helpers/postgres";

// Two store instances on one database, as two replicas: a request one adds reaches the other's
// request feed through LISTEN/NOTIFY alone (its poll interval is an hour), also after the
// listener's connection was killed on the server.

const postgres = postgresForFile();
const HOUR = 60 * 60_000;
const AT = "2026-01-01T00:00:00.000Z";
const request = (environment: string) => ({
  environment,
  reason: `approved by alice`,
  priority: "person" as const,
  actor: "alice@example.com",
  at: AT,
});

describe("request notifications on PostgreSQL", () => {
  it("wake another replica's feed at once, and again after its connection was terminated", async () => {
    const url = await postgres.freshDatabase("watch");
    const password = postgres.server().password;
    const writer: Store = openPostgresStore({ url, password });
    const reader: Store = openPostgresStore({ url, password });
    const admin = postgresPool({ url, password, max: 1 });
    const listeners = async (): Promise<number[]> =>
      (
        await admin.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()",
          [LISTENER_NAME],
        )
      ).rows.map((row) => row.pid);
    // What a notification carries, read as any LISTENing client would.
    const raw = new pg.Client(connection(url, password));
    const payloads: string[] = [];
    raw.on("notification", (message) => payloads.push(message.payload ?? ""));
    const seen: string[] = [];
    const errors: unknown[] = [];
    const feed = new RequestFeed({
      source: reader,
      onRequest: (r) => void seen.push(r.environment),
      onError: (error) => errors.push(error),
      intervalMs: HOUR,
    });
    try {
      await raw.connect();
      await raw.query(`LISTEN ${REQUESTS_CHANNEL}`);
      await writer.addRequest(request("before"));
      await feed.skipExisting();
      feed.start();
      await vi.waitFor(async () => expect(await listeners()).toHaveLength(1), { timeout: 10_000 });

      const seq = await writer.addRequest(request("prod"));
      await vi.waitFor(() => expect(seen).toEqual(["prod"]), { timeout: 5_000 });
      // Only the seq: nothing of the request (its actor, its reason) goes over the channel.
      await vi.waitFor(() => expect(payloads).toContain(String(seq)));
      expect(payloads.join(" ")).not.toContain("alice");

      // The server ends the listener's session: reported once, then it listens again.
      const [killed] = await listeners();
      await admin.query("SELECT pg_terminate_backend($1)", [killed]);
      await vi.waitFor(
        async () => {
          const now = await listeners();
          expect(now).toHaveLength(1);
          expect(now).not.toContain(killed);
        },
        { timeout: 10_000, interval: 100 },
      );
      await writer.addRequest(request("stage"));
      await vi.waitFor(() => expect(seen).toEqual(["prod", "stage"]), { timeout: 5_000 });
      expect(errors).toHaveLength(1);
      expect(String(errors[0])).toMatch(/cannot reach the store|terminat/i);
      expect(String(errors[0])).not.toContain(password);

      // Stopping the feed ends its listener.
      await feed.stop();
      await vi.waitFor(async () => expect(await listeners()).toEqual([]), { timeout: 5_000 });
    } finally {
      await feed.stop();
      await raw.end().catch(() => undefined);
      await admin.end();
      await writer.close();
      await reader.close();
    }
  });

  it("closes a watch left open when the store closes", async () => {
    const url = await postgres.freshDatabase("watch");
    const password = postgres.server().password;
    const store = openPostgresStore({ url, password });
    const admin = postgresPool({ url, password, max: 1 });
    try {
      let woken = 0;
      await store.watchRequests?.({ onWake: () => woken++, onError: () => {} });
      expect(woken).toBe(1); // listening: a caller reads once, for what came before
      await store.close();
      await vi.waitFor(
        async () => {
          const { rows } = await admin.query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()",
            [LISTENER_NAME],
          );
          expect(rows).toEqual([]);
        },
        { timeout: 5_000 },
      );
    } finally {
      await store.close();
      await admin.end();
    }
  });
});

function connection(url: string, password: string): pg.ClientConfig {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port),
    database: u.pathname.slice(1),
    user: decodeURIComponent(u.username),
    password,
  };
}
