import { describe, expect, it } from "vitest";
import type { NewWorkRequest } from "../../../src/adapters/store/port";
import { secondHandle, storeError, useStore, type StoreFactory } from "./harness";

// What processes sharing a store coordinate through: leases, and work requests for the daemon.

const A = "host-a/100/5000/aaaa";
const B = "host-b/200/6000/bbbb";
const TTL = 60_000;
const at = (minute: number, second = 0) =>
  `2025-03-04T09:${String(minute).padStart(2, "0")}:${String(second).padStart(2, "0")}.000Z`;

const request = (environment: string, overrides: Partial<NewWorkRequest> = {}): NewWorkRequest => ({
  environment,
  reason: "approved by ada",
  priority: "person",
  actor: "ada@example.com",
  at: at(0),
  ...overrides,
});

export function coordinationContract(factory: StoreFactory): void {
  const handles = useStore(factory);

  describe("leases", () => {
    it("have one holder at a time; the other owner waits for a release", async (ctx) => {
      const a = await handles.open();
      const b = await secondHandle(handles, ctx);
      expect(await a.holder("stack:prod")).toBeUndefined();

      expect(await a.acquire("stack:prod", A, TTL, at(0))).toEqual({
        key: "stack:prod",
        owner: A,
        acquiredAt: at(0),
        renewedAt: at(0),
        expiresAt: at(1),
      });
      expect(await b.acquire("stack:prod", B, TTL, at(0, 30))).toBeUndefined();
      expect(await b.acquire("stack:stage", B, TTL, at(0, 30))).toMatchObject({ owner: B }); // another key
      expect((await b.holder("stack:prod"))?.owner).toBe(A);

      expect(await b.release("stack:prod", B)).toBe(false); // not the holder's
      expect((await a.holder("stack:prod"))?.owner).toBe(A);
      expect(await a.release("stack:prod", A)).toBe(true);
      expect(await a.release("stack:prod", A)).toBe(false);
      expect(await a.holder("stack:prod")).toBeUndefined();
      expect(await b.acquire("stack:prod", B, TTL, at(0, 40))).toMatchObject({
        owner: B,
        acquiredAt: at(0, 40),
      });
    });

    it("are renewed many at once: only those the owner holds, the others named by their absence", async (ctx) => {
      const a = await handles.open();
      const b = await secondHandle(handles, ctx);
      for (const key of ["owner:a%", "owner:b_", "owner:c"]) await a.acquire(key, A, TTL, at(0));
      await b.acquire("owner:d", B, TTL, at(0));
      const renewed = await b.renewLeases(
        ["owner:a%", "owner:b_", "owner:d", "owner:none"],
        A,
        TTL,
        at(0, 30),
      );
      expect(renewed.sort()).toEqual(["owner:a%", "owner:b_"]);
      expect(await a.holder("owner:b_")).toEqual({
        key: "owner:b_",
        owner: A,
        acquiredAt: at(0),
        renewedAt: at(0, 30),
        expiresAt: at(1, 30),
      });
      expect((await a.holder("owner:c"))?.renewedAt).toBe(at(0)); // not asked for
      expect((await a.holder("owner:d"))?.renewedAt).toBe(at(0)); // another owner's
      expect(await a.renewLeases([], A, TTL, at(0, 40))).toEqual([]);
    });

    it("expire after their TTL unless the holder renews them; only the holder renews", async () => {
      const store = await handles.open();
      await store.acquire("k", A, TTL, at(0));
      expect(await store.renew("k", B, TTL, at(0, 50))).toBeUndefined();
      expect(await store.renew("k", A, TTL, at(0, 50))).toEqual({
        key: "k",
        owner: A,
        acquiredAt: at(0),
        renewedAt: at(0, 50),
        expiresAt: at(1, 50),
      });
      expect(await store.acquire("k", B, TTL, at(1, 49))).toBeUndefined(); // still held, thanks to the renewal
      expect(await store.acquire("k", A, TTL, at(1, 0))).toMatchObject({
        acquiredAt: at(0),
        expiresAt: at(2),
      }); // again: a renewal

      const taken = await store.acquire("k", B, TTL, at(2)); // expired: anyone may take it
      expect(taken).toEqual({ key: "k", owner: B, acquiredAt: at(2), renewedAt: at(2), expiresAt: at(3) });
      expect(await store.renew("k", A, TTL, at(2, 1))).toBeUndefined(); // the old holder lost it
      expect(await store.release("k", A)).toBe(false);
      expect((await store.holder("k"))?.owner).toBe(B);
    });

    it("are free at once when their holder is dead, and only then", async () => {
      const store = await handles.open();
      await store.acquire("k", A, TTL, at(0));
      const asked: [string | undefined, string | undefined][] = [];
      const alive = await store.acquire("k", B, TTL, at(0, 10), (owner, heartbeatAt) => {
        asked.push([owner, heartbeatAt]);
        return false;
      });
      expect(alive).toBeUndefined();
      expect(asked).toEqual([[A, at(0)]]);
      expect(await store.acquire("k", B, TTL, at(0, 20), (owner) => owner === A)).toMatchObject({ owner: B });
    });

    it("are listed by key prefix, expired ones too, in key order, across processes", async (ctx) => {
      const a = await handles.open();
      const b = await secondHandle(handles, ctx);
      await a.acquire("owner:stage", A, TTL, at(0));
      await b.acquire("owner:prod", B, TTL, at(0, 30));
      await a.acquire("replica:a", A, TTL, at(0));
      await a.acquire("owner%:x", A, TTL, at(0)); // a LIKE pattern would match this too
      await b.acquire("owner", B, TTL, at(0)); // shorter than the prefix

      expect(await b.leases("owner:")).toEqual([
        { key: "owner:prod", owner: B, acquiredAt: at(0, 30), renewedAt: at(0, 30), expiresAt: at(1, 30) },
        { key: "owner:stage", owner: A, acquiredAt: at(0), renewedAt: at(0), expiresAt: at(1) },
      ]);
      expect((await a.leases("owner%")).map((l) => l.key)).toEqual(["owner%:x"]);
      expect((await a.leases("replica:")).map((l) => l.owner)).toEqual([A]);
      expect(await a.leases("none:")).toEqual([]);
      expect((await a.leases("")).length).toBe(5);
      // Several prefixes in one read: each lease once, in key order.
      expect((await b.leases(["replica:", "owner:"])).map((l) => l.key)).toEqual([
        "owner:prod",
        "owner:stage",
        "replica:a",
      ]);
      expect((await a.leases(["owner", "owner:"])).map((l) => l.key)).toEqual([
        "owner",
        "owner%:x",
        "owner:prod",
        "owner:stage",
      ]);
      expect(await a.leases([])).toEqual([]);

      expect(await a.release("owner:stage", A)).toBe(true);
      expect((await b.leases("owner:")).map((l) => l.key)).toEqual(["owner:prod"]);
    });

    it("are taken many at once as acquire takes each: free, own, expired and dead ones, not live ones", async (ctx) => {
      const a = await handles.open();
      const b = await secondHandle(handles, ctx);
      await a.acquire("owner:mine", A, TTL, at(0));
      await b.acquire("owner:live", B, TTL, at(0));
      await b.acquire("owner:expired", B, 1_000, at(0));
      await b.acquire("owner:dead", "host-c/300/7000/cccc", TTL, at(0));
      const asked: string[] = [];
      const keys = ["owner:free", "owner:live", "owner:mine", "owner:expired", "owner:dead", "owner:x%_"];
      const taken = await a.acquireLeases(keys, A, TTL, at(0, 30), (owner) => {
        asked.push(owner ?? "");
        return owner === "host-c/300/7000/cccc";
      });
      expect(taken).toEqual(["owner:free", "owner:mine", "owner:expired", "owner:dead", "owner:x%_"]);
      expect(asked).toContain(B);
      expect(await b.holder("owner:mine")).toEqual({
        key: "owner:mine",
        owner: A,
        acquiredAt: at(0), // renewed, not taken again
        renewedAt: at(0, 30),
        expiresAt: at(1, 30),
      });
      for (const key of ["owner:free", "owner:expired", "owner:dead"])
        expect(await b.holder(key)).toEqual({
          key,
          owner: A,
          acquiredAt: at(0, 30),
          renewedAt: at(0, 30),
          expiresAt: at(1, 30),
        });
      expect(await b.holder("owner:live")).toMatchObject({ owner: B, renewedAt: at(0) });
      expect(await b.acquireLeases(["owner:free", "owner:live"], B, TTL, at(0, 40))).toEqual(["owner:live"]);
      expect(await a.acquireLeases([], A, TTL, at(0, 40))).toEqual([]);
      expect(await storeError(async () => await a.acquireLeases(["k", ""], A, TTL, at(0)))).toBe(
        "invalid-input",
      );
      expect(await a.holder("k")).toBeUndefined();
    });

    it("taken many at once by several processes racing for the same keys go each to exactly one", async (ctx) => {
      const first = await handles.open();
      const others = [await secondHandle(handles, ctx), await secondHandle(handles, ctx)];
      const stores = [first, ...others];
      const keys = Array.from({ length: 40 }, (_, i) => `owner:env-${String(i).padStart(2, "0")}`);
      // Half the keys held before the race: some expired (anyone may take them), some live.
      for (const key of keys.slice(0, 10)) await first.acquire(key, "gone", 1_000, at(0));
      for (const key of keys.slice(10, 20)) await first.acquire(key, "alive", TTL, at(0, 30));
      const owners = stores.map((_, i) => `host-${i}/1/1/${i}`);
      // Each claims every key, starting at its own offset (the orders differ).
      const results = await Promise.all(
        stores.map((store, i) =>
          store.acquireLeases([...keys.slice(i * 13), ...keys.slice(0, i * 13)], owners[i]!, TTL, at(0, 40)),
        ),
      );
      const claimed = results.flat().sort();
      const expected = [...keys.slice(0, 10), ...keys.slice(20)];
      expect(claimed).toEqual(expected); // each once, none of the live holder's
      const stored = new Map((await first.leases("owner:")).map((l) => [l.key, l.owner]));
      results.forEach((taken, i) => {
        for (const key of taken) expect(stored.get(key)).toBe(owners[i]);
      });
      for (const key of keys.slice(10, 20)) expect(stored.get(key)).toBe("alive");
    });

    it("refuse bad arguments", async () => {
      const store = await handles.open();
      expect(await storeError(async () => await store.acquire("", A, TTL, at(0)))).toBe("invalid-input");
      expect(await storeError(async () => await store.acquire("k", "", TTL, at(0)))).toBe("invalid-input");
      expect(await storeError(async () => await store.acquire("k", A, 0, at(0)))).toBe("invalid-input");
      expect(await storeError(async () => await store.acquire("k", A, TTL, "now"))).toBe("invalid-input");
      expect(await storeError(async () => await store.renew("k", A, 1.5, at(0)))).toBe("invalid-input");
      expect(await store.holder("k")).toBeUndefined();
    });
  });

  describe("work requests", () => {
    it("are numbered as added and read after a seq, oldest first, by another process", async (ctx) => {
      const cli = await handles.open();
      const daemon = await secondHandle(handles, ctx);
      expect(await daemon.requestsSince(0)).toEqual([]);

      const first = await cli.addRequest(request("prod"));
      const second = await cli.addRequest(
        request("stage", { reason: "nightly", priority: "schedule", actor: undefined, at: at(1) }),
      );
      const third = await cli.addRequest(request("prod", { reason: "revoked by bob", at: at(0, 30) }));
      expect(first).toBeGreaterThan(0);
      expect(second).toBeGreaterThan(first);
      expect(third).toBeGreaterThan(second);

      const all = await daemon.requestsSince(0);
      expect(all).toEqual([
        { ...request("prod"), seq: first },
        { environment: "stage", reason: "nightly", priority: "schedule", at: at(1), seq: second },
        { ...request("prod", { reason: "revoked by bob", at: at(0, 30) }), seq: third },
      ]);
      expect(all[1]).not.toHaveProperty("actor");
      expect((await daemon.requestsSince(first)).map((r) => r.seq)).toEqual([second, third]);
      expect((await daemon.requestsSince(0, 2)).map((r) => r.seq)).toEqual([first, second]);
      expect(await daemon.requestsSince(third)).toEqual([]);

      // A request for a full look keeps what it asked for.
      const fourth = await cli.addRequest(request("prod", { look: "sync", at: at(2) }));
      expect(await daemon.requestsSince(third)).toEqual([
        { ...request("prod", { look: "sync", at: at(2) }), seq: fourth },
      ]);
    });

    it("are pruned by time, and a seq is never given twice", async () => {
      const store = await handles.open();
      const old = await store.addRequest(request("prod", { at: at(0) }));
      const kept = await store.addRequest(request("prod", { at: at(5) }));
      const last = await store.addRequest(request("prod", { at: "2025-03-04T09:10:00.000+00:00" }));
      expect(await store.pruneRequests(at(5))).toBe(1);
      expect((await store.requestsSince(0)).map((r) => r.seq)).toEqual([kept, last]);
      expect(await store.pruneRequests(at(30))).toBe(2);
      expect(await store.requestsSince(0)).toEqual([]);

      const next = await store.addRequest(request("prod", { at: at(31) }));
      expect(next).toBeGreaterThan(last);
      expect((await store.requestsSince(old)).map((r) => r.seq)).toEqual([next]);
    });

    it("refuse bad input", async () => {
      const store = await handles.open();
      expect(await storeError(async () => await store.addRequest(request("")))).toBe("invalid-input");
      expect(await storeError(async () => await store.addRequest(request("prod", { at: "soon" })))).toBe(
        "invalid-input",
      );
      expect(
        await storeError(
          async () =>
            await store.addRequest(request("prod", { priority: "urgent" as NewWorkRequest["priority"] })),
        ),
      ).toBe("invalid-input");
      expect(await storeError(async () => await store.requestsSince(-1))).toBe("invalid-input");
      expect(await storeError(async () => await store.requestsSince(0, 0))).toBe("invalid-input");
      expect(await storeError(async () => await store.pruneRequests("yesterday"))).toBe("invalid-input");
      expect(await store.requestsSince(0)).toEqual([]);
    });
  });
}
