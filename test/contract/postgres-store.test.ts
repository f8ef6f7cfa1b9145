import { describe, expect, it } from "vitest";
import { StoreError } from "../../src/adapters/store/errors";
import { migrate, openPostgresStore, PG_MIGRATIONS, postgresPool } from "../../src/adapters/store/postgres";
import type { Store } from "../../src/adapters/store/port";
import { postgresForFile } from "../helpers/postgres";
import { STORE_NOW, storeContract } from "./store";

// A real PostgreSQL server for the file, a fresh database per test; every reopen is another pool on
// it (what another replica sees).

const pg = postgresForFile();
const freshDatabase = () => pg.freshDatabase("contract");

const open = (url: string, now = () => new Date(STORE_NOW)): Store =>
  openPostgresStore({ url, password: pg.server().password }, { now });

storeContract("postgres", async () => {
  const url = await freshDatabase();
  const opened: Store[] = [];
  const handle = () => {
    const store = open(url);
    opened.push(store);
    return store;
  };
  return {
    store: handle(),
    reopen: async () => handle(),
    cleanup: async () => {
      for (const store of opened) await store.close();
    },
  };
});

describe("postgres store across replicas", () => {
  const TTL = 60_000;
  const AT = "2025-03-04T09:00:00.000Z";

  it("gives a contested lease to exactly one of several racing replicas", async () => {
    const url = await freshDatabase();
    const stores = Array.from({ length: 6 }, () => open(url));
    try {
      await stores[0]!.holder("warm-up"); // migrate once before the race
      const results = await Promise.all(
        stores.map((store, i) => store.acquire("stack:prod", `replica-${i}`, TTL, AT)),
      );
      const winners = results.filter((lease) => lease !== undefined);
      expect(winners).toHaveLength(1);
      expect((await stores[1]!.holder("stack:prod"))?.owner).toBe(winners[0]?.owner);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it("hands an expired lease to exactly one of several racing replicas", async () => {
    const url = await freshDatabase();
    const stores = Array.from({ length: 6 }, () => open(url));
    try {
      await stores[0]!.acquire("k", "old", 1_000, AT);
      const later = "2025-03-04T09:00:05.000Z";
      const results = await Promise.all(
        stores.map((store, i) => store.acquire("k", `replica-${i}`, TTL, later)),
      );
      expect(results.filter((lease) => lease !== undefined)).toHaveLength(1);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it("migrates a new database once when several replicas open it at once", async () => {
    const url = await freshDatabase();
    const pools = Array.from({ length: 4 }, () =>
      postgresPool({ url, password: pg.server().password, max: 1 }),
    );
    try {
      const applied = await Promise.all(pools.map((pool) => migrate(pool, () => new Date(STORE_NOW))));
      expect(applied.flat()).toEqual(PG_MIGRATIONS.map((_, i) => i + 1));
      const { rows } = await pools[0]!.query("SELECT version FROM schema_version ORDER BY version");
      expect(rows.map((row: { version: number }) => row.version)).toEqual(PG_MIGRATIONS.map((_, i) => i + 1));
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
  });

  it("refuses a database written by a newer tidegate", async () => {
    const url = await freshDatabase();
    const store = open(url);
    try {
      await store.statuses();
      const pool = postgresPool({ url, password: pg.server().password, max: 1 });
      await pool.query("INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)", [
        PG_MIGRATIONS.length + 1,
        STORE_NOW,
      ]);
      await pool.end();
      const newer = open(url);
      const error = await newer.statuses().catch((e: unknown) => e);
      await newer.close();
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).problem).toBe("newer-schema");
    } finally {
      await store.close();
    }
  });

  it("opened only to read, gives an empty database the schema but never upgrades one behind it", async () => {
    const url = await freshDatabase();
    const readOnly = () =>
      openPostgresStore(
        { url, password: pg.server().password },
        { now: () => new Date(STORE_NOW), migrate: false },
      );
    const first = readOnly();
    expect(await first.statuses()).toEqual([]);
    await first.close();
    // As if the replicas ran the previous version: the newest migration is not recorded.
    const pool = postgresPool({ url, password: pg.server().password, max: 1 });
    const version = async () =>
      Number((await pool.query("SELECT max(version)::integer AS v FROM schema_version")).rows[0]?.v);
    try {
      await pool.query("DELETE FROM schema_version WHERE version = $1", [PG_MIGRATIONS.length]);
      const reader = readOnly();
      const error = await reader.statuses().catch((e: unknown) => e);
      await reader.close();
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).problem).toBe("older-schema");
      expect((error as StoreError).message).toContain(`version ${PG_MIGRATIONS.length - 1}`);
      expect(await version()).toBe(PG_MIGRATIONS.length - 1);
    } finally {
      await pool.end();
    }
  });

  it("hands out request seqs that readers see in order", async () => {
    const url = await freshDatabase();
    const stores = Array.from({ length: 3 }, () => open(url));
    try {
      const request = { environment: "prod", reason: "push", priority: "schedule" as const, at: AT };
      const seqs = await Promise.all(
        Array.from({ length: 30 }, (_, i) => stores[i % 3]!.addRequest(request)),
      );
      expect(new Set(seqs).size).toBe(30);
      const read = await stores[0]!.requestsSince(0);
      expect(read.map((r) => r.seq)).toEqual([...seqs].sort((a, b) => a - b));
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it("reports a server it cannot reach as unavailable, naming host and port but not the password", async () => {
    const password = "s3cret-never-shown";
    const store = openPostgresStore(
      { url: "postgres://tidegate@127.0.0.1:1/tidegate", password, connectTimeoutMs: 2_000 },
      { now: () => new Date(STORE_NOW) },
    );
    try {
      const error = await store.statuses().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).problem).toBe("unavailable");
      expect((error as StoreError).message).toContain("127.0.0.1:1/tidegate");
      expect((error as StoreError).message).not.toContain(password);
    } finally {
      await store.close();
    }
  });

  it("reports a wrong password as unavailable, without the password", async () => {
    const store = openPostgresStore(
      { url: pg.server().url, password: "wrong-password-xyz" },
      { now: () => new Date(STORE_NOW) },
    );
    try {
      const error = await store.statuses().catch((e: unknown) => e);
      expect((error as StoreError).problem).toBe("unavailable");
      expect((error as StoreError).message).not.toContain("wrong-password-xyz");
    } finally {
      await store.close();
    }
  });

  it("refuses a URL with a password in it", () => {
    expect(() =>
      openPostgresStore({ url: pg.server().urlWithPassword, password: pg.server().password }),
    ).toThrow(/store\.password\.env or store\.password\.file/);
  });
});
