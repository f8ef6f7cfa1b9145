import { describe, expect, it } from "vitest";
import { openMemoryStore } from "../../../src/adapters/store/memory";
import type { Store } from "../../../src/adapters/store/port";
import { claimStart, Ownership, planOwnership } from "../../../src/daemon/ownership";

// Environment ownership across replicas: the fair-share decision alone, then replicas on one memory
// store beating on a fake clock.

const ENVS = ["dev", "test", "stage", "prod"];

describe("planOwnership", () => {
  const owners = (entries: Record<string, string>) => new Map(Object.entries(entries));

  it("gives a lone replica every environment", () => {
    expect(planOwnership({ me: "a", environments: ENVS, replicas: ["a"], owners: owners({}) })).toEqual({
      claim: ENVS,
      release: [],
    });
    // Even when the store does not list it yet.
    expect(planOwnership({ me: "a", environments: ENVS, replicas: [], owners: owners({}) }).claim).toEqual(
      ENVS,
    );
  });

  it("takes free environments up to ceil(E/R), in order", () => {
    expect(
      planOwnership({ me: "a", environments: ENVS, replicas: ["a", "b", "c"], owners: owners({}) }),
    ).toEqual({ claim: ["dev", "test"], release: [] });
    const plan = planOwnership({
      me: "b",
      environments: ENVS,
      replicas: ["a", "b"],
      owners: owners({ dev: "a", test: "a" }),
    });
    expect(plan).toEqual({ claim: ["stage", "prod"], release: [] });
  });

  it("takes an environment whose owner is not a live replica (it died)", () => {
    const plan = planOwnership({
      me: "b",
      environments: ENVS,
      replicas: ["b"],
      owners: owners({ dev: "a", test: "b", stage: "a", prod: "b" }),
    });
    expect(plan).toEqual({ claim: ["dev", "stage"], release: [] });
  });

  it("hands one over per heartbeat while another replica is below its share and nothing is free", () => {
    const all = owners({ dev: "a", test: "a", stage: "a", prod: "a" });
    expect(planOwnership({ me: "a", environments: ENVS, replicas: ["a", "b"], owners: all })).toEqual({
      claim: [],
      release: ["prod"],
    });
    // The newcomer waits for what is handed over.
    expect(planOwnership({ me: "b", environments: ENVS, replicas: ["a", "b"], owners: all })).toEqual({
      claim: [],
      release: [],
    });
  });

  it("leaves what another replica handed over to the one below its share", () => {
    // a has 3 and released prod; b (0) is below floor(4/2) = 2: a does not take prod back.
    const view = {
      environments: ENVS,
      replicas: ["a", "b"],
      owners: owners({ dev: "a", test: "a", stage: "a" }),
    };
    expect(planOwnership({ me: "a", ...view })).toEqual({ claim: [], release: [] });
    expect(planOwnership({ me: "b", ...view })).toEqual({ claim: ["prod"], release: [] });
    // A replica at its floor does not take beyond it while a third is below.
    const three = {
      environments: ENVS,
      replicas: ["a", "b", "c"],
      owners: owners({ dev: "a", test: "a", stage: "b" }),
    };
    expect(planOwnership({ me: "b", ...three }).claim).toEqual([]);
    expect(planOwnership({ me: "c", ...three }).claim).toEqual(["prod"]);
  });

  it("is stable once every replica holds floor or ceil", () => {
    const view = {
      environments: [...ENVS, "qa"],
      replicas: ["a", "b"],
      owners: owners({ dev: "a", test: "a", stage: "a", prod: "b", qa: "b" }),
    };
    expect(planOwnership({ me: "a", ...view })).toEqual({ claim: [], release: [] });
    expect(planOwnership({ me: "b", ...view })).toEqual({ claim: [], release: [] });
  });

  it("takes free environments from claimFrom on, wrapping round, still up to its share", () => {
    const view = { me: "b", environments: ENVS, replicas: ["a", "b"], owners: owners({}) };
    expect(planOwnership({ ...view, claimFrom: 3 }).claim).toEqual(["prod", "dev"]);
    expect(planOwnership({ ...view, claimFrom: 0 }).claim).toEqual(["dev", "test"]);
    // Taken ones are skipped wherever it starts.
    expect(planOwnership({ ...view, owners: owners({ prod: "a" }), claimFrom: 3 }).claim).toEqual([
      "dev",
      "test",
    ]);
  });

  it("starts each replica's claims at its rank's slice, so replicas starting together do not collide", () => {
    const replicas = ["c", "a", "b"];
    expect(replicas.map((me) => claimStart(me, replicas, 200))).toEqual([133, 0, 66]);
    expect(claimStart("z", [], 200)).toBe(0); // alone
    const claims = ["a", "b"].map(
      (me) =>
        planOwnership({
          me,
          environments: ENVS,
          replicas: ["a", "b"],
          owners: owners({}),
          claimFrom: claimStart(me, ["a", "b"], ENVS.length),
        }).claim,
    );
    expect(claims).toEqual([
      ["dev", "test"],
      ["stage", "prod"],
    ]);
  });

  it("with more replicas than environments, some own none and nothing moves", () => {
    const view = { environments: ["dev"], replicas: ["a", "b", "c"], owners: owners({ dev: "a" }) };
    for (const me of ["a", "b", "c"])
      expect(planOwnership({ me, ...view })).toEqual({ claim: [], release: [] });
  });
});

describe("Ownership over a shared store", () => {
  const TTL = 30_000;
  const BEAT = 5_000;

  function cluster(environments = ENVS) {
    let now = Date.parse("2026-01-01T00:00:00.000Z");
    const store: Store = openMemoryStore(undefined, { now: () => new Date(now) });
    const dead = new Set<string>();
    const events: string[] = [];
    const replica = (me: string) =>
      new Ownership({
        store,
        me,
        environments,
        ttlMs: TTL,
        heartbeatMs: BEAT,
        isDead: (owner) => owner !== undefined && dead.has(owner),
        clock: () => now,
        onGained: (envs) => events.push(`${me}+${envs.join(",")}`),
        onLost: (envs) => events.push(`${me}-${envs.join(",")}`),
      });
    return {
      store,
      dead,
      events,
      replica,
      advance: (ms: number) => (now += ms),
      async beat(replicas: Ownership[], times = 1) {
        for (let i = 0; i < times; i++) {
          now += BEAT;
          for (const r of replicas) await r.tick();
        }
      },
    };
  }

  /** Two replicas, "a" first, after enough heartbeats to share the environments evenly. */
  async function balancedPair(c: ReturnType<typeof cluster>): Promise<[Ownership, Ownership]> {
    const a = c.replica("a");
    const b = c.replica("b");
    await a.tick();
    await b.tick();
    await c.beat([a, b], 3);
    return [a, b];
  }

  const owners = async (store: Store) =>
    Object.fromEntries((await store.leases("owner:")).map((l) => [l.key.slice("owner:".length), l.owner]));

  /** Every environment has exactly one owner, and each replica holds what the store says. */
  async function expectConsistent(store: Store, replicas: Ownership[]): Promise<void> {
    const stored = await owners(store);
    expect(Object.keys(stored).sort()).toEqual([...ENVS].sort());
    for (const r of replicas) for (const env of ENVS) expect(r.owns(env)).toBe(stored[env] === r.me);
  }

  it("a lone replica owns everything after its first heartbeat", async () => {
    const c = cluster();
    const a = c.replica("a");
    expect(a.owns("dev")).toBe(false);
    await a.tick();
    expect(a.mine()).toEqual(ENVS);
    expect(c.events).toEqual(["a+dev,test,stage,prod"]);
    expect((await c.store.leases("replica:")).map((l) => l.owner)).toEqual(["a"]);
  });

  it("spreads the work to a replica that joins, one environment per heartbeat", async () => {
    const c = cluster();
    const a = c.replica("a");
    const b = c.replica("b");
    await a.tick();
    await b.tick(); // nothing free yet
    expect(b.mine()).toEqual([]);
    await c.beat([a, b], 3);
    expect(a.mine()).toHaveLength(2);
    expect(b.mine()).toHaveLength(2);
    await expectConsistent(c.store, [a, b]);

    const d = c.replica("c");
    await d.tick();
    await c.beat([a, b, d], 4);
    expect([a, b, d].map((r) => r.mine().length).sort()).toEqual([1, 1, 2]);
    await expectConsistent(c.store, [a, b, d]);
    // Balanced: more heartbeats move nothing.
    const before = c.events.length;
    await c.beat([a, b, d], 3);
    expect(c.events.length).toBe(before);
  });

  it("takes over a silent replica's environments once its leases expire, not before", async () => {
    const c = cluster();
    const [a, b] = await balancedPair(c);
    const hadA = a.mine();
    expect(hadA).toHaveLength(2);

    // a stops beating (killed on another host): b waits out the TTL.
    await c.beat([b], 5); // 25 s since a's last renewal
    expect(b.mine()).toHaveLength(2);
    await c.beat([b], 2); // 35 s
    expect(b.mine()).toEqual(ENVS);
    await expectConsistent(c.store, [b]);
  });

  it("takes over at once from a replica known dead (its pid is gone on this host)", async () => {
    const c = cluster();
    const [, b] = await balancedPair(c);
    c.dead.add("a");
    await c.beat([b]);
    expect(b.mine()).toEqual(ENVS);
  });

  it("a stopped replica releases everything at once; the other takes it at its next heartbeat", async () => {
    const c = cluster();
    const [a, b] = await balancedPair(c);
    await a.stop();
    expect(a.mine()).toEqual([]);
    expect(Object.values(await owners(c.store))).not.toContain("a");
    expect((await c.store.leases("replica:")).map((l) => l.owner)).toEqual(["b"]);
    await b.tick(); // no time passes: nothing waits for a TTL
    expect(b.mine()).toEqual(ENVS);
    // A stopped replica beats no more.
    await a.tick();
    expect(a.mine()).toEqual([]);
  });

  it("a replica whose lease was taken over while it was paused learns it lost it", async () => {
    const c = cluster();
    const a = c.replica("a");
    const b = c.replica("b");
    await a.tick();
    c.advance(TTL + 1); // a paused past its TTL
    await b.tick();
    expect(b.mine()).toEqual(ENVS);
    await a.tick();
    expect(a.mine()).toEqual([]);
    expect(c.events).toContain("a-dev,test,stage,prod");
    await expectConsistent(c.store, [a, b]);
  });

  it("holds with two store calls per heartbeat, asking isDead once per holder", async () => {
    let now = Date.parse("2026-01-01T00:00:00.000Z");
    const store = openMemoryStore(undefined, { now: () => new Date(now) });
    const calls: string[] = [];
    const counted = new Proxy(store, {
      get: (target, name: string) => {
        const method = Reflect.get(target, name) as (...args: unknown[]) => unknown;
        return (...args: unknown[]) => {
          calls.push(name);
          return method.apply(target, args);
        };
      },
    });
    const asked: string[] = [];
    const environments = Array.from({ length: 50 }, (_, i) => `env-${i}`);
    const replica = (me: string) =>
      new Ownership({
        store: counted,
        me,
        environments,
        ttlMs: TTL,
        heartbeatMs: BEAT,
        isDead: (owner) => {
          asked.push(owner ?? "");
          return false;
        },
        clock: () => now,
      });
    const a = replica("a");
    const b = replica("b");
    await a.tick();
    expect(calls).toEqual(["renewLeases", "acquire", "leases", "acquireLeases"]); // its first: one claim for all
    for (let i = 0; i < 30; i++) {
      now += BEAT;
      await a.tick();
      await b.tick();
    }
    expect([a.mine().length, b.mine().length]).toEqual([25, 25]);
    calls.length = 0;
    asked.length = 0;
    now += BEAT;
    await a.tick();
    expect(calls).toEqual(["renewLeases", "leases"]);
    expect(asked.sort()).toEqual(["a", "b"]); // not once per lease
  });

  it("forgets replicas gone for an hour", async () => {
    const c = cluster();
    const a = c.replica("a");
    const b = c.replica("b");
    await a.tick();
    await b.tick();
    c.advance(30 * 60_000);
    await b.tick();
    expect((await c.store.leases("replica:")).map((l) => l.owner)).toEqual(["a", "b"]);
    c.advance(31 * 60_000);
    await b.tick();
    expect((await c.store.leases("replica:")).map((l) => l.owner)).toEqual(["b"]);
  });
});
