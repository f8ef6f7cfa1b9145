import type { Engine } from "../app/engine";
import type { AuditPort } from "../app/ports";
import type { GitPort } from "../adapters/git/port";
import { describeHolder, EnvironmentHeldError, SKIP_IF_HELD } from "../app/environment-lease";
import type { Store } from "../adapters/store/port";
import type { DaemonSettings } from "../config/resolve";
import { type EnvironmentStatus, WAITS_ON_GATES } from "../domain/model";
import type { Logger } from "../log";
import { Health, type HealthStats } from "./health";
import {
  type ItemResult,
  type QueueStats,
  type RunAgainLater,
  type StopResult,
  type WorkItem,
  type WorkKind,
  type WorkRequest,
  WorkQueue,
} from "./queue";
import { Ownership, type OwnershipOptions } from "./ownership";
import { RequestFeed, type RequestSource, type WorkRequest as StoredRequest } from "./requests";
import { scheduleEnvironments } from "./schedules";
import { SharedStatuses } from "./shared-statuses";
import { Scheduler } from "./scheduler";

/** What the daemon needs of the engine: its environments, and the runs it asks for. */
export type DaemonEngine = Pick<Engine, "environments" | "poll" | "check"> &
  Partial<Pick<Engine, "recoverInterruptedRuns" | "repositoryOf">> & {
    readonly store: Pick<Store, "status" | "statuses" | "setStatus" | "runs">;
    readonly git: Pick<GitPort, "heads">;
    readonly audit: Pick<AuditPort, "append">;
  };

/** daemon in tidegate.yaml, and where the environment definitions live. */
export type DaemonRetry = Pick<DaemonSettings, "retryInitialMs" | "retryMaxMs" | "stallAfter"> & {
  configRef: string;
};

const DEFAULT_RETRY: DaemonRetry = {
  retryInitialMs: 30_000,
  retryMaxMs: 60 * 60_000,
  stallAfter: 5,
  configRef: "main",
};

export type DaemonStats = QueueStats & HealthStats;

export interface DaemonOptions {
  engine: DaemonEngine;
  log: Logger;
  /** Requests other processes leave (approve, revoke); without it only the schedules feed the queue. */
  requests?: RequestSource;
  /** Environments checked at once (default 1); one never runs concurrently with itself. */
  workers?: number;
  /** How often the request source is read (default 1 s, or 30 s when the source wakes the daemon). */
  requestIntervalMs?: number;
  /** How long an environment another process holds waits before it is looked at again (default 15 s). */
  heldRetryMs?: number;
  /** Called around each run (e.g. a progress line). */
  onRun?: (item: WorkItem) => () => void;
  /**
   * What the startup asks of each environment: a full check (default), or a poll, which checks
   * only an environment whose branch moved, that was never checked or whose last check failed.
   */
  startup?: "check" | "poll";
  /** Back-off and stalling of failing environments (default: 30 s doubling to 1 h, Stalled after 5). */
  retry?: DaemonRetry;
  /** For tests: 0 <= r < 1, as Math.random (the schedules' and back-off's jitter). */
  random?: () => number;
  /** For tests: the clock of back-offs and stale marks. */
  now?: () => Date;
  /**
   * Share the environments with the other replicas on the store: only the environments this one
   * owns are looked at. Without it this process looks at every environment.
   */
  replica?: Omit<OwnershipOptions, "environments" | "onGained" | "onLost" | "onError">;
}

const HELD_RETRY_MS = 15_000;

/** A request re-judges these in full: their gates may have opened, or a person's request resumes a stall. */
const LOOK_IN_FULL: ReadonlySet<EnvironmentStatus> = new Set([...WAITS_ON_GATES, "Stalled"]);

/**
 * The daemon: a work queue of "look at environment E, because R", fed by the environments' cron
 * schedules and by requests other processes leave in the store, run by the engine one environment
 * at a time. One environment's failure is logged and never stops the others.
 */
export class Daemon {
  private readonly queue: WorkQueue;
  private readonly scheduler: Scheduler;
  private readonly feed: RequestFeed | undefined;
  private readonly health: Health;
  private readonly statuses: SharedStatuses;
  /** The environments by name, as the schedules were made from them: a sweep looks up hundreds. */
  private readonly byName: ReadonlyMap<string, DaemonEngine["environments"][number]>;
  private readonly ownership: Ownership | undefined;
  private started = false;
  private watching = false;
  private stopping: Promise<StopResult> | undefined;

  constructor(private readonly options: DaemonOptions) {
    const { engine, log } = options;
    const retry = options.retry ?? DEFAULT_RETRY;
    this.byName = new Map(engine.environments.map((env) => [env.name, env]));
    this.statuses = new SharedStatuses(engine.store);
    this.health = new Health({
      store: engine.store,
      statusAsOf: (name, notBefore) => this.statuses.status(name, notBefore),
      audit: (entry) => engine.audit.append(entry),
      log,
      retry: { initialMs: retry.retryInitialMs, maxMs: retry.retryMaxMs },
      stallAfter: retry.stallAfter,
      configRef: retry.configRef,
      now: options.now ?? (() => new Date()),
      ...(options.random ? { random: options.random } : {}),
    });
    this.queue = new WorkQueue({
      run: (item) => this.run(item),
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
      upstream: (key) => {
        const from = this.byName.get(key)?.gates.promotion?.from;
        return from === undefined ? [] : [from];
      },
      onFailed: (item, err) =>
        log.error({ env: item.key, kind: item.kind, reasons: item.reasons, err }, "run failed"),
      onSkipped: (request) =>
        log.info(
          { env: request.key, kind: request.kind, reason: request.reason },
          "tick skipped: the environment is being checked already",
        ),
    });
    this.scheduler = new Scheduler(options.random ? { random: options.random } : {});
    scheduleEnvironments(this.scheduler, engine.environments, (request) => {
      if (this.mine(request.key)) void this.queue.add(request);
    });
    this.ownership = options.replica
      ? new Ownership({
          ...options.replica,
          environments: engine.environments.map((env) => env.name),
          // Taken over after the startup: whoever had it may have left it mid-way, so look now.
          onGained: (envs) => {
            log.info({ replica: options.replica?.me, environments: envs }, "environments taken over");
            if (this.started) void this.takeOver(envs);
          },
          onLost: (envs) =>
            log.info({ replica: options.replica?.me, environments: envs }, "environments handed over"),
          onError: (err) => log.warn({ err }, "replica heartbeat failed; trying again"),
        })
      : undefined;
    this.feed = options.requests
      ? new RequestFeed({
          source: options.requests,
          onRequest: (request) => this.onRequest(request),
          onError: (err) => log.warn({ err }, "cannot read requests from the store; trying again"),
          ...(options.requestIntervalMs !== undefined ? { intervalMs: options.requestIntervalMs } : {}),
        })
      : undefined;
  }

  /**
   * Checks (or polls, see DaemonOptions.startup) every environment once, in promotion order
   * (syncing those whose policy allows it), and returns their statuses. Requests already in the
   * store are skipped: these checks cover them.
   */
  async startup(): Promise<EnvironmentStatus[]> {
    await this.feed?.skipExisting();
    // A replica claims its share first: it looks at what it owns; the others' owners look at theirs.
    await this.ownership?.start();
    this.started = true;
    const startupKind = this.options.startup ?? "check";
    const runs = this.options.engine.environments.map((env) =>
      this.mine(env.name)
        ? this.queue.add({ key: env.name, kind: startupKind, priority: "schedule", reason: "startup" }).done
        : Promise.resolve({ status: "held" } as const),
    );
    const results = await Promise.all(runs);
    return Promise.all(
      this.options.engine.environments.map(async (env, i) => {
        const state = await this.options.engine.store.status(env.name);
        // A remote that did not answer keeps the last known status (marked stale); an environment
        // held by another process has the status that process records.
        const status = results[i]?.status;
        if (status === "succeeded" || status === "held" || state?.stale) return state?.status ?? "Unknown";
        return "Failed";
      }),
    );
  }

  /** Starts the schedules and the request feed. */
  watch(): void {
    if (this.watching) return;
    this.watching = true;
    this.scheduler.start();
    this.feed?.start();
  }

  /** Asks for a look at an environment (e.g. a webhook, a test); settles when it has run. */
  request(request: WorkRequest): Promise<ItemResult> {
    return this.queue.add(request).done;
  }

  /**
   * Stops the schedules and the feed, drops waiting work, and waits for the runs in flight (up to
   * the deadline); returns the environments still running. Calling it again returns the same result.
   */
  stop(options: { timeoutMs?: number } = {}): Promise<StopResult> {
    return (this.stopping ??= this.stopOnce(options));
  }

  private async stopOnce(options: { timeoutMs?: number }): Promise<StopResult> {
    this.scheduler.stop();
    await this.feed?.stop();
    // Handed over at once; a run in flight keeps its environment lease until it ends.
    await this.ownership
      ?.stop()
      .catch((err: unknown) => this.options.log.warn({ err }, "cannot release ownership; it expires"));
    const result = await this.queue.stop(options);
    this.options.log.info({ ...this.stats(), dropped: result.dropped }, "work queue stopped");
    return result;
  }

  stats(): DaemonStats {
    return { ...this.queue.stats(), ...this.health.stats() };
  }

  /** Environments being checked now. */
  running(): string[] {
    return this.queue.inFlight();
  }

  /** A dead replica's unfinished runs are marked interrupted first; then each environment is looked at. */
  private async takeOver(environments: string[]): Promise<void> {
    await this.options.engine
      .recoverInterruptedRuns?.()
      .catch((err: unknown) => this.options.log.warn({ err }, "cannot mark interrupted runs"));
    for (const key of environments)
      void this.queue.add({ key, kind: "check", priority: "schedule", reason: "ownership taken over" });
  }

  /** Whether this process looks at the environment: always, unless replicas share the environments. */
  private mine(environment: string): boolean {
    return this.ownership?.owns(environment) ?? true;
  }

  /**
   * A request for a check or a sync (the API's, the dashboard's) is a full check. Any other request
   * re-judges its environment: in full when it waits on its gates (an approval or a revocation
   * changes what they say), else a poll, which looks further only if the head moved.
   */
  private async onRequest(request: StoredRequest): Promise<void> {
    const { engine, log } = this.options;
    if (!this.byName.has(request.environment)) {
      log.warn({ env: request.environment, seq: request.seq }, "request for an unknown environment ignored");
      return;
    }
    if (!this.mine(request.environment)) {
      log.debug({ env: request.environment, seq: request.seq }, "request left to the environment's owner");
      return;
    }
    const status = (await engine.store.status(request.environment))?.status;
    const waiting = status !== undefined && LOOK_IN_FULL.has(status);
    const kind: WorkKind = request.look !== undefined || waiting ? "check" : "poll";
    const { outcome } = this.queue.add({
      key: request.environment,
      kind,
      priority: request.priority,
      reason: request.reason,
    });
    log.info({ env: request.environment, reason: request.reason, kind, outcome }, "request received");
  }

  /**
   * One look: a scheduled one waits out its environment's back-off and a stall; then the remote's
   * heads are read (a failure marks the status stale), then the engine polls or checks. The daemon
   * never waits for another process holding an environment: it looks again later.
   */
  private async run(item: WorkItem): Promise<void | RunAgainLater> {
    const { engine } = this.options;
    const env = this.byName.get(item.key);
    if (!env) throw new Error(`unknown environment '${item.key}'`);
    // Handed over while it waited: the new owner looks at it.
    if (!this.mine(env.name)) return;
    const person = item.priority === "person";
    if (!person && this.health.heldBack(env.name)) return;
    // With several repositories, the environment's own repository and config ref.
    const source = engine.repositoryOf?.(env);
    const git = source?.git ?? engine.git;
    const configRef = source?.configRef ?? (this.options.retry ?? DEFAULT_RETRY).configRef;
    const trigger = item.reasons.join(", ");
    const done = this.options.onRun?.(item);
    let heads: Record<string, string> | undefined;
    try {
      // The polls of one tick share one listing of the remote's heads (no older than the tick).
      const branches = [...new Set([env.branch, configRef])];
      const polled = await this.health.poll(
        env,
        () => git.heads(branches, { notBefore: item.asOf }),
        item.asOf,
      );
      heads = polled.heads;
      // The status is read once here for the whole look: a sweep polls hundreds of environments.
      const stall = await this.health.stall(env, heads, person ? trigger : undefined, polled.state);
      if (stall === "held") return;
      // A resumed stall is looked at in full: a poll passes over an unchanged head.
      const kind = stall === "resumed" ? "check" : item.kind;
      const report =
        kind === "poll"
          ? await engine.poll(env.name, trigger, SKIP_IF_HELD, {
              head: heads[env.branch],
              state: polled.state,
            })
          : await engine.check(env.name, { kind, trigger, allowSync: true }, SKIP_IF_HELD);
      if (report?.status === "Failed") await this.health.failed(env, heads, report.reason ?? "Failed");
      else this.health.succeeded(env);
    } catch (error) {
      if (error instanceof EnvironmentHeldError) {
        const afterMs = this.options.heldRetryMs ?? HELD_RETRY_MS;
        this.options.log.info(
          { env: env.name, kind: item.kind, holder: error.holder.owner, retryInMs: afterMs },
          `environment ${env.name} is held by ${describeHolder(error.holder)}; skipped, looking again later`,
        );
        return { held: true, afterMs };
      }
      await this.health.failed(env, heads, error);
      throw error;
    } finally {
      // Whatever this look wrote, the next one reads.
      this.statuses.forget(env.name);
      done?.();
    }
  }
}
