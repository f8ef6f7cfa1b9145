import { describe, expect, it } from "vitest";
import { openMemoryStore } from "../../../src/adapters/store/memory";
import { replicaLines, replicaName, replicasView } from "../../../src/app/replicas";
import { age } from "../../../src/render/format";

// What `tidegate status` and the dashboard say about the replicas, from the leases they hold.

const A = "web-1/100/5000/aaaa";
const B = "web-2/200/6000/bbbb";
const C = "web-3/300/7000/cccc";
const T0 = "2026-01-01T00:00:00.000Z";
const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000);

describe("replicasView", () => {
  it("lists each replica's last heartbeat and what it owns; a silent one shows gone and owns nothing", async () => {
    const store = openMemoryStore();
    const ttl = 30_000;
    await store.acquire("replica:" + A, A, ttl, at(0).toISOString());
    await store.acquire("replica:" + B, B, ttl, at(20).toISOString());
    await store.acquire("replica:" + C, C, ttl, at(-60).toISOString()); // died a while ago
    await store.acquire("owner:dev", A, ttl, at(0).toISOString());
    await store.acquire("owner:prod", A, ttl, at(0).toISOString());
    await store.acquire("owner:stage", B, ttl, at(20).toISOString());
    await store.acquire("owner:test", C, ttl, at(-60).toISOString()); // expired: nobody's
    await store.acquire("environment:dev", A, ttl, at(0).toISOString()); // a run's lease: not ownership

    const now = at(25);
    const view = await replicasView(store, now);
    expect([...view.owners]).toEqual([
      ["dev", A],
      ["prod", A],
      ["stage", B],
    ]);
    expect(view.replicas).toEqual([
      {
        id: A,
        name: "web-1 pid 100",
        lastHeartbeat: at(0).toISOString(),
        alive: true,
        owns: ["dev", "prod"],
      },
      { id: B, name: "web-2 pid 200", lastHeartbeat: at(20).toISOString(), alive: true, owns: ["stage"] },
      { id: C, name: "web-3 pid 300", lastHeartbeat: at(-60).toISOString(), alive: false, owns: [] },
    ]);
    expect(replicaLines(view, now, age)).toEqual([
      "Replicas: 2 live",
      "  web-1 pid 100: heartbeat 25s ago, owns dev, prod",
      "  web-2 pid 200: heartbeat 5s ago, owns stage",
      "  web-3 pid 300: gone (last heartbeat 1m ago)",
    ]);
  });

  it("says nothing when no replica ever ran, and names an id it cannot parse as it is", async () => {
    const view = await replicasView(openMemoryStore(), at(0));
    expect(view).toEqual({ replicas: [], owners: new Map() });
    expect(replicaLines(view, at(0), age)).toEqual([]);
    expect(replicaName("test-daemon")).toBe("test-daemon");
  });
});
