import { describe, expect, it } from "vitest";
import type { AuditEntry } from "../../../src/adapters/audit";
import { openMemoryStore } from "../../../src/adapters/store/memory";
import type { Store } from "../../../src/adapters/store/port";
import { Detector } from "../../../src/app/notify/detect";
import type { NotifyEvent } from "../../../src/app/notify/event";
import { formatAge } from "../../../src/app/notify/event";
import { Redactor } from "../../../src/log/redact";
import { state } from "../../contract/store/harness";
import { sampleReport } from "../report/fixture";

const T0 = Date.parse("2025-03-04T09:00:00.000Z");
const HOUR = 3_600_000;

function setup(options: { staleAfterMs?: number; staleEveryMs?: number; secrets?: string[] } = {}) {
  const store = openMemoryStore();
  const clock = { ms: T0 };
  const entries: AuditEntry[] = [];
  const redactor = new Redactor({ secrets: options.secrets ?? [], stacks: false });
  const detector = new Detector({
    store,
    audit: { entries: async () => entries },
    route: (event) => (event.name === "Synced" && event.environment === "dev" ? [] : ["slack", "hook"]),
    stale: () =>
      options.staleAfterMs === undefined
        ? undefined
        : { afterMs: options.staleAfterMs, everyMs: options.staleEveryMs ?? HOUR },
    link: (env) => `https://tidegate.example.com/environments/${env}`,
    redact: (event) => redactor.value(event) as typeof event,
    now: () => new Date(clock.ms),
  });
  const audit = (action: AuditEntry["action"], extra: Partial<AuditEntry> = {}) =>
    entries.push({
      seq: entries.length + 1,
      time: new Date(clock.ms).toISOString(),
      actor: "ada@example.com",
      action,
      environment: "prod",
      prev: "0".repeat(64),
      hash: "0".repeat(64),
      ...extra,
    });
  return { store, clock, detector, audit };
}

async function queued(store: Store, sink = "slack"): Promise<NotifyEvent[]> {
  const all = await store.notifications(1000);
  return all
    .filter((n) => n.sink === sink)
    .reverse()
    .map((n) => JSON.parse(n.body) as NotifyEvent);
}

describe("the notification detector", () => {
  it("queues one message per transition and sink, never one per poll", async () => {
    const { store, clock, detector } = setup();
    await store.setStatus(state("prod", { status: "Synced" }));
    expect(await detector.poll()).toBe(0); // first sight of Synced: no news
    await store.saveReport(
      sampleReport({ environment: "prod", status: "Drifted", reason: "1 drifted outside Git" }),
    );
    await store.setStatus(state("prod", { status: "Drifted", reason: "1 drifted outside Git" }));
    clock.ms += 1000;
    expect(await detector.poll()).toBe(2);
    expect(await detector.poll()).toBe(0);
    clock.ms += 1000;
    expect(await detector.poll()).toBe(0);
    await store.setStatus(state("prod", { status: "Progressing" }));
    expect(await detector.poll()).toBe(0); // transient: wait for where it lands
    await store.setStatus(state("prod", { status: "Synced" }));
    expect(await detector.poll()).toBe(2);

    const events = await queued(store);
    expect(events.map((e) => [e.name, e.title])).toEqual([
      ["Drifted", "prod is Drifted (was Synced)"],
      ["Synced", "prod is Synced again"],
    ]);
    expect(events[0]).toMatchObject({
      reason: "1 drifted outside Git",
      commit: {
        sha: "4f1c2a9e0b7d3c5a6e8f9a0b1c2d3e4f5a6b7c8d",
        author: "Dana Ops",
        message: "Raise the queue's visibility timeout",
      },
      changes: {
        kind: "drift",
        resources: [
          {
            name: "assets",
            action: "drifted",
            properties: [
              'tags.team: "platform" → "intruders"',
              'tags.note: + "added by hand"',
              'policy: "[secret]" → "[secret]"',
            ],
          },
        ],
        more: 0,
      },
      link: "https://tidegate.example.com/environments/prod",
    });
  });

  it("tells of a non-Synced status at first sight, and routes per environment and event", async () => {
    const { store, detector } = setup();
    await store.setStatus(state("dev", { status: "AwaitingApproval", reason: "needs 1 approval" }));
    expect(await detector.poll()).toBe(2);
    await store.setStatus(state("dev", { status: "Synced" }));
    expect(await detector.poll()).toBe(0); // the route sends dev's recoveries nowhere
    expect((await queued(store)).map((e) => e.title)).toEqual(["dev is AwaitingApproval"]);
  });

  it("reminds after the configured age, then at each interval, until the status changes", async () => {
    const { store, clock, detector } = setup({ staleAfterMs: 24 * HOUR, staleEveryMs: 12 * HOUR });
    await store.setStatus(state("prod", { status: "AwaitingApproval" }));
    await detector.poll();
    clock.ms += 24 * HOUR - 1000;
    expect(await detector.poll()).toBe(0);
    clock.ms += 2 * HOUR + 1000; // 26h
    expect(await detector.poll()).toBe(2);
    expect(await detector.poll()).toBe(0);
    clock.ms += 9 * HOUR; // 35h: the next is due at 24h + 12h
    expect(await detector.poll()).toBe(0);
    clock.ms += 2 * HOUR; // 37h
    expect(await detector.poll()).toBe(2);
    clock.ms += 12 * HOUR; // 49h: the third (due at 48h)
    expect(await detector.poll()).toBe(2);
    expect(await detector.poll()).toBe(0);
    await store.setStatus(state("prod", { status: "Synced" }));
    expect(await detector.poll()).toBe(2);
    clock.ms += 100 * HOUR;
    expect(await detector.poll()).toBe(0);
    const titles = (await queued(store)).map((e) => e.title);
    expect(titles).toEqual([
      "prod is AwaitingApproval",
      "prod has been AwaitingApproval for 26h",
      "prod has been AwaitingApproval for 37h",
      "prod has been AwaitingApproval for 2d 1h",
      "prod is Synced again",
    ]);
  });

  it("counts staleness from the store's statusSince when the reports say so", async () => {
    const { store, clock, detector } = setup({ staleAfterMs: 2000 });
    const since = new Date(T0 - 3 * 86_400_000).toISOString();
    await store.saveReport(
      sampleReport({ environment: "stage", runId: "r1", status: "Drifted", startedAt: since }),
    );
    await store.setStatus(state("stage", { status: "Drifted" }));
    await detector.poll();
    clock.ms += 1000;
    expect(await detector.poll()).toBe(2);
    expect((await queued(store)).at(-1)).toMatchObject({
      title: "stage has been Drifted for 3d",
      since,
      name: "stale",
    });
  });

  it("tells of people's actions after its cursor, and of a gates change once per commit", async () => {
    const { store, detector, audit } = setup();
    audit("approve"); // before the first poll: history, not news
    await detector.poll();
    audit("approve", { commit: "abc123", reason: "looks right" });
    audit("revoke");
    audit("promote", { actor: "bo@example.com" });
    audit("gates-change", { commit: "abc123", reason: "approval: 1 → 2 approvers" });
    audit("check");
    expect(await detector.poll()).toBe(8);
    audit("gates-change", { commit: "abc123", reason: "approval: 1 → 2 approvers" });
    expect(await detector.poll()).toBe(0);
    expect((await queued(store)).map((e) => [e.name, e.title])).toEqual([
      ["approved", "ada@example.com approved the plan of prod"],
      ["revoked", "ada@example.com revoked approvals of prod"],
      ["promoted", "bo@example.com promoted to prod"],
      ["gates-change", "a commit changes the gates of prod"],
    ]);
  });

  it("tells of a sync's start, and its outcome with what it applied", async () => {
    const { store, clock, detector, audit } = setup();
    await detector.poll();
    clock.ms += 1000;
    await store.startRun({
      id: "run-9",
      environment: "prod",
      stack: "prod",
      kind: "sync",
      trigger: "cli:ada",
      owner: "h/1/2/a",
      startedAt: new Date(clock.ms).toISOString(),
    });
    expect(await detector.poll()).toBe(2);
    await store.saveReport(sampleReport({ environment: "prod", runId: "run-9", status: "Synced" }));
    audit("sync", { details: { runId: "run-9", sync: { applied: true, summary: { update: 1, same: 4 } } } });
    audit("failure", { details: { runId: "run-8" } }); // a failed check: its status tells
    expect(await detector.poll()).toBe(2);
    const events = await queued(store);
    expect(events.map((e) => e.name)).toEqual(["sync-started", "sync-succeeded"]);
    expect(events[1]).toMatchObject({ applied: { update: 1, same: 4 } });
  });

  it("masks known secrets before anything is stored", async () => {
    const { store, detector } = setup({ secrets: ["hunter2-token"] });
    await store.setStatus(state("prod", { status: "Failed", reason: "auth failed with hunter2-token" }));
    await detector.poll();
    const bodies = (await store.notifications(10)).map((n) => n.body).join("\n");
    expect(bodies).not.toContain("hunter2-token");
    expect(bodies).toContain("auth failed with");
  });
});

describe("formatAge", () => {
  it("reads as people say it", () => {
    expect(formatAge(2000)).toBe("2s");
    expect(formatAge(26 * HOUR)).toBe("26h");
    expect(formatAge(90 * 60_000)).toBe("1h 30m");
    expect(formatAge(3 * 86_400_000 + 2 * HOUR)).toBe("3d 2h");
  });
});
