import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Store } from "../adapters/store/port";
import type { EnvironmentStatus, RunKind, RunReport } from "../domain/model";
import { EnvironmentStatusSchema } from "../domain/report-schema";

// Prometheus metrics, on a registry of their own (never prom-client's global one). The environment
// gauges are computed from the store at scrape time, so `tidegate serve` alone serves them; the run
// histograms and the queue counters come from the process that runs the daemon. Labels carry only
// environment, stack, gate and provider names, statuses, verdicts and outcomes: no commit messages,
// no config values, no secrets.

/** Every status, each a series of tidegate_environment_status. */
export const STATUSES: readonly EnvironmentStatus[] = EnvironmentStatusSchema.options;
/** The statuses whose age is worth an alert: out of sync, drifted, waiting for a person. */
export const AGED_STATUSES: ReadonlySet<string> = new Set([
  "OutOfSync",
  "Drifted",
  "OutOfSync+Drifted",
  "AwaitingApproval",
]);
/** The daemon's queue counters (a structural copy of DaemonStats: the daemon is a higher layer). */
export interface QueueCounters {
  waiting: number;
  inFlight: number;
  skippedInFlight: number;
  skippedHeld: number;
  skippedBackoff: number;
  skippedStalled: number;
}

/** What the gauges are computed from at scrape time. */
export interface MetricsSource {
  store: Pick<Store, "statuses" | "statusSince" | "latestReport" | "reports" | "report" | "run">;
  environments(): { name: string; stack: string }[];
  /** The daemon's queue, in the process that runs it. */
  queue?: () => QueueCounters;
  now(): Date;
}

export type WebhookOutcome = "accepted" | "refused" | "ignored";
export type NotificationOutcome = "sent" | "failed";

/** How many recent reports are searched for the newest one that applied a sync. */
const SYNC_SEARCH_DEPTH = 50;
const SECONDS = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800];

export class Telemetry {
  readonly registry = new Registry();
  private source: MetricsSource | undefined;
  /** The newest applied sync per environment, cached by the newest report's run id it was found under. */
  private readonly lastSync = new Map<string, { newest: string; at?: number }>();

  private readonly runDuration = new Histogram({
    name: "tidegate_run_duration_seconds",
    help: "How long whole runs took, by run kind.",
    labelNames: ["mode"],
    buckets: SECONDS,
    registers: [this.registry],
  });
  private readonly phaseDuration = new Histogram({
    name: "tidegate_run_phase_duration_seconds",
    help: "How long each stage of a run took, by run kind and stage.",
    labelNames: ["mode", "phase"],
    buckets: SECONDS,
    registers: [this.registry],
  });
  private readonly runs = new Counter({
    name: "tidegate_runs_total",
    help: "Runs finished in this process, by environment, run kind and resulting status.",
    labelNames: ["environment", "mode", "status"],
    registers: [this.registry],
  });
  private readonly webhooks = new Counter({
    name: "tidegate_webhook_deliveries_total",
    help: "Webhook deliveries received, by provider and outcome (accepted, refused, ignored).",
    labelNames: ["provider", "outcome"],
    registers: [this.registry],
  });
  private readonly notifications = new Counter({
    name: "tidegate_notifications_total",
    help: "Notifications sent or failed, by sink kind and outcome (sent, failed).",
    labelNames: ["sink", "outcome"],
    registers: [this.registry],
  });

  constructor() {
    // The registry reads its metrics concurrently: each one's collect waits for the same refresh.
    const collect = () => this.refresh();
    const gauge = (name: string, help: string, labelNames: string[]) =>
      new Gauge({ name, help, labelNames, registers: [this.registry], collect });
    const status = gauge(
      "tidegate_environment_status",
      "1 for the environment's current status, 0 for the others.",
      ["environment", "stack", "status"],
    );
    const pending = gauge(
      "tidegate_environment_pending_resources",
      "Resources the branch head would change (the latest check's pending changes).",
      ["environment", "stack"],
    );
    const drifted = gauge(
      "tidegate_environment_drifted_resources",
      "Resources whose live state differs from the deployed state (the latest drift check).",
      ["environment", "stack"],
    );
    const age = gauge(
      "tidegate_environment_status_age_seconds",
      "Seconds since the environment became OutOfSync, Drifted, OutOfSync+Drifted or AwaitingApproval (its current status).",
      ["environment", "stack", "status"],
    );
    const lastSync = gauge(
      "tidegate_environment_last_sync_timestamp_seconds",
      "Unix time of the end of the environment's newest run that applied a sync.",
      ["environment", "stack"],
    );
    const gates = gauge(
      "tidegate_gate_verdict",
      "1 for each gate's verdict in the environment's latest check.",
      ["environment", "gate", "verdict"],
    );
    const waiting = gauge("tidegate_queue_waiting", "Work items waiting in the daemon's queue.", []);
    const inFlight = gauge("tidegate_queue_in_flight", "Environments the daemon is running now.", []);
    const skipped = new Counter({
      name: "tidegate_queue_skipped_ticks_total",
      help: "Scheduled looks the daemon skipped, by reason (in-flight, held, backoff, stalled).",
      labelNames: ["reason"],
      registers: [this.registry],
      collect,
    });
    for (const reason of ["in-flight", "held", "backoff", "stalled"]) skipped.inc({ reason }, 0);
    waiting.set(0);
    inFlight.set(0);

    // One pass over the store per scrape, shared by every gauge.
    this.collectAll = async () => {
      for (const g of [status, pending, drifted, age, lastSync, gates]) g.reset();
      const source = this.source;
      if (!source) return;
      const queue = source.queue?.();
      if (queue) {
        waiting.set(queue.waiting);
        inFlight.set(queue.inFlight);
        skipped.reset();
        skipped.inc({ reason: "in-flight" }, queue.skippedInFlight);
        skipped.inc({ reason: "held" }, queue.skippedHeld);
        skipped.inc({ reason: "backoff" }, queue.skippedBackoff);
        skipped.inc({ reason: "stalled" }, queue.skippedStalled);
      }
      const states = new Map((await source.store.statuses()).map((s) => [s.environment, s]));
      const now = source.now().getTime();
      for (const env of source.environments()) {
        const labels = { environment: env.name, stack: env.stack };
        const state = states.get(env.name);
        const current = state?.status ?? "Unknown";
        for (const s of STATUSES) status.set({ ...labels, status: s }, s === current ? 1 : 0);
        pending.set(labels, state?.pendingCount ?? 0);
        drifted.set(labels, state?.driftCount ?? 0);
        if (AGED_STATUSES.has(current)) {
          const since = await source.store.statusSince(env.name, current);
          if (since) age.set({ ...labels, status: current }, Math.max(0, (now - Date.parse(since)) / 1000));
        }
        const latest = await source.store.latestReport(env.name);
        for (const verdict of latest?.gates ?? []) {
          gates.set({ environment: env.name, gate: verdict.gate, verdict: verdict.verdict }, 1);
        }
        const syncedAt = await this.lastSyncOf(source, env.name);
        if (syncedAt !== undefined) lastSync.set(labels, syncedAt);
      }
    };
  }

  private readonly collectAll: () => Promise<void>;
  private refreshing: Promise<void> | undefined;

  private refresh(): Promise<void> {
    return (this.refreshing ??= this.collectAll().finally(() => (this.refreshing = undefined)));
  }

  /** Where the gauges read from; until set, they are empty. */
  watch(source: MetricsSource): void {
    this.source = source;
  }

  /** The daemon's queue, in the process that runs it. */
  watchQueue(queue: () => QueueCounters): void {
    if (this.source) this.source = { ...this.source, queue };
  }

  /** A run's report was written: its kind is read from the store's run record. */
  async reportWritten(report: RunReport): Promise<void> {
    const run = await this.source?.store.run(report.runId);
    this.runFinished(report, run?.kind ?? "check");
  }

  /** A run finished: its duration and each stage's, by kind. */
  runFinished(report: RunReport, kind: RunKind): void {
    const total = (Date.parse(report.endedAt) - Date.parse(report.startedAt)) / 1000;
    if (Number.isFinite(total)) this.runDuration.observe({ mode: kind }, Math.max(0, total));
    for (const [phase, ms] of Object.entries(report.timings)) {
      this.phaseDuration.observe({ mode: kind, phase }, ms / 1000);
    }
    this.runs.inc({ environment: report.environment, mode: kind, status: report.status });
  }

  /** For the webhook receiver: one delivery and what became of it. */
  webhookDelivery(provider: string, outcome: WebhookOutcome): void {
    this.webhooks.inc({ provider, outcome });
  }

  /** For the notification outbox: one message sent, or one attempt failed. */
  notification(sink: string, outcome: NotificationOutcome): void {
    this.notifications.inc({ sink, outcome });
  }

  /** The Prometheus text exposition. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private async lastSyncOf(source: MetricsSource, environment: string): Promise<number | undefined> {
    const recent = await source.store.reports(environment, SYNC_SEARCH_DEPTH);
    const newest = recent[0]?.runId;
    if (newest === undefined) return undefined;
    const cached = this.lastSync.get(environment);
    if (cached?.newest === newest) return cached.at;
    let at = cached?.at;
    for (const summary of recent) {
      if (summary.runId === cached?.newest) break;
      const report = await source.store.report(summary.runId);
      if (report?.sync?.applied) {
        at = Date.parse(report.endedAt) / 1000;
        break;
      }
    }
    this.lastSync.set(environment, { newest, ...(at === undefined ? {} : { at }) });
    return at;
  }
}
