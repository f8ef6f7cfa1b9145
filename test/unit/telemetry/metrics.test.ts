import { describe, expect, it } from "vitest";
import { openMemoryStore } from "../../../src/adapters/store/memory";
import type { Store } from "../../../src/adapters/store/port";
import { Telemetry } from "../../../src/app/metrics";
import type { EnvironmentState, RunReport } from "../../../src/domain/model";
import { type Families, parseMetrics, sampleValue as value } from "../../helpers/metrics";

// The collectors: every gauge read from a memory store at scrape time, the run histograms from
// reports, the queue from the daemon's counters, parsed back with a real Prometheus parser.

const NOW = new Date("2026-05-01T12:00:00Z");
const ENVS = [
  { name: "test", stack: "app-test" },
  { name: "prod", stack: "app-prod" },
];

function report(over: Partial<RunReport> & Pick<RunReport, "runId" | "environment" | "status">): RunReport {
  return {
    schemaVersion: 1,
    stack: `app-${over.environment}`,
    branch: `env/${over.environment}`,
    startedAt: "2026-05-01T10:00:00.000Z",
    endedAt: "2026-05-01T10:00:03.000Z",
    timings: { poll: 100, preview: 2000 },
    versions: { tidegate: "0", pulumi: "3", node: "22" },
    ...over,
  };
}

function state(environment: string, over: Partial<EnvironmentState>): EnvironmentState {
  return {
    environment,
    branch: `env/${environment}`,
    stack: `app-${environment}`,
    status: "Synced",
    pendingCount: 0,
    driftCount: 0,
    updatedAt: NOW.toISOString(),
    ...over,
  };
}

async function scrape(telemetry: Telemetry): Promise<Families> {
  return parseMetrics((await telemetry.scrape()).body);
}

async function seeded(): Promise<Store> {
  const store = openMemoryStore();
  // test: synced by its first run (applied), then checked again; prod: awaiting approval for 2h.
  await store.saveReport(
    report({
      runId: "t1",
      environment: "test",
      status: "Synced",
      sync: { applied: true },
      endedAt: "2026-05-01T09:00:00.000Z",
      startedAt: "2026-05-01T08:59:00.000Z",
    }),
  );
  await store.saveReport(
    report({
      runId: "t2",
      environment: "test",
      status: "Synced",
      startedAt: "2026-05-01T11:00:00.000Z",
      endedAt: "2026-05-01T11:00:01.000Z",
    }),
  );
  await store.saveReport(
    report({
      runId: "p1",
      environment: "prod",
      status: "AwaitingApproval",
      startedAt: "2026-05-01T10:00:00.000Z",
      gates: [
        { gate: "approval", verdict: "wait", reason: "1 approval needed" },
        { gate: "window", verdict: "pass", reason: "open" },
      ],
    }),
  );
  await store.setStatus(state("test", { status: "Synced" }));
  await store.setStatus(state("prod", { status: "AwaitingApproval", pendingCount: 3, driftCount: 1 }));
  return store;
}

describe("the metrics", () => {
  it("report each environment's status, counts, status age, last sync and gate verdicts from the store", async () => {
    const telemetry = new Telemetry();
    telemetry.watch({ store: await seeded(), environments: () => ENVS, now: () => NOW });
    const m = await scrape(telemetry);

    expect(value(m, "tidegate_environment_status", { environment: "prod", status: "AwaitingApproval" })).toBe(
      1,
    );
    expect(value(m, "tidegate_environment_status", { environment: "prod", status: "Synced" })).toBe(0);
    expect(
      value(m, "tidegate_environment_status", { environment: "test", status: "Synced", stack: "app-test" }),
    ).toBe(1);
    expect(m.get("tidegate_environment_status")?.metrics.filter((x) => x.value === "1")).toHaveLength(2);
    expect(value(m, "tidegate_environment_pending_resources", { environment: "prod" })).toBe(3);
    expect(value(m, "tidegate_environment_drifted_resources", { environment: "prod" })).toBe(1);
    expect(value(m, "tidegate_environment_pending_resources", { environment: "test" })).toBe(0);
    // Awaiting since the report that started at 10:00; the scrape is at 12:00.
    expect(
      value(m, "tidegate_environment_status_age_seconds", {
        environment: "prod",
        status: "AwaitingApproval",
      }),
    ).toBe(7200);
    expect(value(m, "tidegate_environment_status_age_seconds", { environment: "test" })).toBeUndefined();
    expect(value(m, "tidegate_environment_last_sync_timestamp_seconds", { environment: "test" })).toBe(
      Date.parse("2026-05-01T09:00:00.000Z") / 1000,
    );
    expect(
      value(m, "tidegate_environment_last_sync_timestamp_seconds", { environment: "prod" }),
    ).toBeUndefined();
    expect(
      value(m, "tidegate_gate_verdict", { environment: "prod", gate: "approval", verdict: "wait" }),
    ).toBe(1);
    expect(value(m, "tidegate_gate_verdict", { environment: "prod", gate: "window", verdict: "pass" })).toBe(
      1,
    );
  });

  it("show an environment with no run yet as Unknown, and follow the store from one scrape to the next", async () => {
    const store = await seeded();
    const telemetry = new Telemetry();
    telemetry.watch({
      store,
      environments: () => [...ENVS, { name: "new", stack: "app-new" }],
      now: () => NOW,
    });
    expect(
      value(await scrape(telemetry), "tidegate_environment_status", {
        environment: "new",
        status: "Unknown",
      }),
    ).toBe(1);

    await store.setStatus(state("prod", { status: "Synced" }));
    const m = await scrape(telemetry);
    expect(value(m, "tidegate_environment_status", { environment: "prod", status: "Synced" })).toBe(1);
    expect(value(m, "tidegate_environment_status", { environment: "prod", status: "AwaitingApproval" })).toBe(
      0,
    );
    expect(value(m, "tidegate_environment_status_age_seconds", { environment: "prod" })).toBeUndefined();
  });

  it("observe finished runs into histograms by kind and stage, with the kind from the run record", async () => {
    const store = openMemoryStore();
    const telemetry = new Telemetry();
    telemetry.watch({ store, environments: () => ENVS, now: () => NOW });
    await store.startRun({
      id: "r1",
      environment: "test",
      stack: "app-test",
      kind: "drift",
      trigger: "schedule",
      owner: "me",
      startedAt: NOW.toISOString(),
    });
    await telemetry.reportWritten(report({ runId: "r1", environment: "test", status: "Drifted" }));
    telemetry.runFinished(report({ runId: "r2", environment: "test", status: "Synced" }), "sync");
    telemetry.runFinished(report({ runId: "r3", environment: "test", status: "Synced" }), "sync");
    const m = await scrape(telemetry);

    expect(value(m, "tidegate_run_duration_seconds_count", { mode: "sync" })).toBe(2);
    expect(value(m, "tidegate_run_duration_seconds_count", { mode: "drift" })).toBe(1);
    expect(value(m, "tidegate_run_duration_seconds_sum", { mode: "sync" })).toBe(6);
    const preview = { mode: "sync", phase: "preview" };
    expect(value(m, "tidegate_run_phase_duration_seconds_count", preview)).toBe(2);
    // 2 s each: inside the 2 s bucket, outside the 1 s one.
    expect(value(m, "tidegate_run_phase_duration_seconds_bucket", { ...preview, le: "2" })).toBe(2);
    expect(value(m, "tidegate_run_phase_duration_seconds_bucket", { ...preview, le: "1" })).toBe(0);
    expect(value(m, "tidegate_runs_total", { environment: "test", mode: "drift", status: "Drifted" })).toBe(
      1,
    );
  });

  it("expose the daemon's queue, and webhook and notification counters that start at nothing", async () => {
    const telemetry = new Telemetry();
    let m = await scrape(telemetry);
    expect(value(m, "tidegate_queue_waiting", {})).toBe(0);
    expect(value(m, "tidegate_queue_skipped_ticks_total", { reason: "held" })).toBe(0);
    expect(m.has("tidegate_webhook_deliveries_total")).toBe(true);
    expect(m.has("tidegate_notifications_total")).toBe(true);

    telemetry.watch({ store: openMemoryStore(), environments: () => [], now: () => NOW });
    const counters = {
      waiting: 2,
      inFlight: 1,
      skippedInFlight: 4,
      skippedHeld: 1,
      skippedBackoff: 3,
      skippedStalled: 0,
    };
    telemetry.watchQueue(() => counters);
    telemetry.webhookDelivery("github", "accepted");
    telemetry.webhookDelivery("github", "refused");
    telemetry.webhookDelivery("github", "refused");
    telemetry.notification("slack", "sent");
    m = await scrape(telemetry);
    expect(value(m, "tidegate_queue_waiting", {})).toBe(2);
    expect(value(m, "tidegate_queue_in_flight", {})).toBe(1);
    expect(value(m, "tidegate_queue_skipped_ticks_total", { reason: "in-flight" })).toBe(4);
    expect(value(m, "tidegate_queue_skipped_ticks_total", { reason: "backoff" })).toBe(3);
    expect(value(m, "tidegate_webhook_deliveries_total", { provider: "github", outcome: "refused" })).toBe(2);
    expect(value(m, "tidegate_notifications_total", { sink: "slack", outcome: "sent" })).toBe(1);
  });
});
