import type { AuditInput } from "../adapters/audit";
import type { Store } from "../adapters/store/port";
import { ENGINE_ACTOR } from "../domain/actor";
import { shortSha } from "../domain/commit";
import type { EnvironmentState } from "../domain/model";
import type { Logger } from "../log";
import { Backoff, type BackoffState, type RetrySettings } from "./backoff";
import { failureStreak } from "./stall";

// What the daemon remembers about an environment that keeps failing: its back-off (in memory), its
// stall (the store's status, counted from the store's runs) and an outage of its remote (marked on
// the store's status, audited once when it starts and once when it ends).

export interface HealthOptions {
  store: Pick<Store, "status" | "setStatus" | "runs">;
  /**
   * The status as read at or after a time (one read shared by the polls of a tick), read while
   * the remote answers; without it the status is read after the remote answered.
   */
  statusAsOf?: (name: string, notBefore: Date) => Promise<EnvironmentState | undefined>;
  audit: (entry: AuditInput) => Promise<unknown>;
  log: Logger;
  retry: RetrySettings;
  /** Identical failures in a row before an environment is Stalled. */
  stallAfter: number;
  /** The branch holding the environment definitions: a new commit there may change a definition. */
  configRef: string;
  now: () => Date;
  random?: () => number;
}

/** The environment as far as the health of its runs goes. */
export interface WatchedEnvironment {
  name: string;
  branch: string;
  stack: string;
}

/** The heads a stall waits on: it holds while neither moves. */
interface StallMark {
  branchHead?: string;
  configHead?: string;
}

export interface HealthStats {
  /** Scheduled looks skipped inside a back-off. */
  skippedBackoff: number;
  /** Scheduled looks skipped because their environment is Stalled and nothing changed. */
  skippedStalled: number;
}

export class Health {
  private readonly backoff: Backoff;
  private readonly stalls = new Map<string, StallMark>();
  /** Environments whose remote is known not to answer (the store says so too). */
  private readonly outages = new Set<string>();
  /** When each environment's remote last answered (a Date, formatted only when an outage needs it). */
  private readonly lastPoll = new Map<string, Date>();
  private readonly counters: HealthStats = { skippedBackoff: 0, skippedStalled: 0 };

  constructor(private readonly options: HealthOptions) {
    this.backoff = new Backoff(options.retry, options.now, options.random);
  }

  stats(): HealthStats {
    return { ...this.counters };
  }

  /** The back-off a scheduled look must wait out (and counts it as skipped); undefined: go ahead. */
  heldBack(name: string): BackoffState | undefined {
    const holding = this.backoff.holding(name);
    if (holding) {
      this.counters.skippedBackoff++;
      this.options.log.debug(
        { env: name, failures: holding.failures, retryAt: holding.retryAt.toISOString() },
        "scheduled look skipped: backing off after failures",
      );
    }
    return holding;
  }

  /**
   * Reads the heads of `branches` with `read`, and the status beside it (see statusAsOf). When the
   * read fails the environment's status is kept and marked stale (audited when the outage starts);
   * when it answers after an outage the mark goes.
   */
  async poll<T>(
    env: WatchedEnvironment,
    read: () => Promise<T>,
    notBefore: Date,
  ): Promise<{ heads: T; state: EnvironmentState | undefined }> {
    const listing = read();
    const known = this.options.statusAsOf?.(env.name, notBefore);
    known?.catch(() => undefined);
    let heads: T;
    try {
      heads = await listing;
    } catch (error) {
      await this.remoteFailed(env, error);
      throw error;
    }
    return { heads, state: await this.remoteAnswered(env, await known) };
  }

  /**
   * Whether a Stalled environment stays "held", or is "resumed" because its branch or the config
   * ref moved or a person asked (audited); undefined when it is not Stalled. `heads` are the
   * remote's now.
   */
  async stall(
    env: WatchedEnvironment,
    heads: Record<string, string>,
    personAsked: string | undefined,
    /** The environment's status as the poll read it just now. */
    state: EnvironmentState | undefined,
  ): Promise<"held" | "resumed" | undefined> {
    if (state?.status !== "Stalled") {
      // Not stalled, or another run (a person's `tidegate check`) replaced the status since.
      this.stalls.delete(env.name);
      return undefined;
    }
    const { configRef } = this.options;
    // After a restart the stall holds at the heads the store knows.
    const mark = this.stalls.get(env.name) ?? {
      ...(state.headCommit ? { branchHead: state.headCommit } : {}),
      ...(heads[configRef] ? { configHead: heads[configRef] } : {}),
    };
    this.stalls.set(env.name, mark);
    const why =
      personAsked ??
      (mark.branchHead !== heads[env.branch]
        ? `branch '${env.branch}' moved to ${shortSha(heads[env.branch] ?? "")}`
        : mark.configHead !== heads[configRef]
          ? `the definitions' branch '${configRef}' moved to ${shortSha(heads[configRef] ?? "")}`
          : undefined);
    if (why === undefined) {
      this.counters.skippedStalled++;
      this.options.log.debug({ env: env.name }, "scheduled look skipped: Stalled until something changes");
      return "held";
    }
    this.stalls.delete(env.name);
    this.backoff.succeeded(env.name);
    await this.audit(env, { action: "stall", verdict: "resumed", commit: heads[env.branch], reason: why });
    this.options.log.info({ env: env.name, reason: why }, "Stalled environment resumed");
    return "resumed";
  }

  /** A run that did not fail: the back-off starts over. */
  succeeded(env: WatchedEnvironment): void {
    const was = this.backoff.succeeded(env.name);
    if (was) this.options.log.info({ env: env.name, failures: was.failures }, "recovered after failures");
  }

  /**
   * A failed look: backs off, and stalls the environment when its newest runs are `stallAfter`
   * identical failures. `heads` are the remote's as the look began (undefined when it did not answer);
   * `error` is what was thrown, or the failed run's reason.
   */
  async failed(
    env: WatchedEnvironment,
    heads: Record<string, string> | undefined,
    error: unknown,
  ): Promise<void> {
    const { log, store, stallAfter, configRef } = this.options;
    const { failures, delayMs, retryAt } = this.backoff.failed(env.name);
    log.warn(
      {
        env: env.name,
        failures,
        retryInMs: delayMs,
        retryAt: retryAt.toISOString(),
        ...(typeof error === "string" ? { reason: error } : { err: error }),
      },
      "look failed: backing off before the next scheduled look",
    );
    if (heads === undefined) return;
    const streak = failureStreak(await store.runs({ environment: env.name, limit: stallAfter + 5 }));
    if (streak.count < stallAfter || !streak.error) return;
    const state = await store.status(env.name);
    if (!state || state.status === "Stalled") return;
    const { message, recovery } = streak.error;
    const stalled: EnvironmentState = {
      ...state,
      status: "Stalled",
      reason: `${streak.count} identical failures in a row, scheduled runs stopped: ${message}${recovery ? ` — ${recovery}` : ""}. Fix the cause and push, change its definition, or run \`tidegate check ${env.name}\``,
      ...((state.headCommit ?? heads[env.branch])
        ? { headCommit: state.headCommit ?? heads[env.branch] }
        : {}),
      updatedAt: this.options.now().toISOString(),
    };
    await store.setStatus(stalled);
    this.stalls.set(env.name, {
      ...(stalled.headCommit ? { branchHead: stalled.headCommit } : {}),
      ...(heads[configRef] ? { configHead: heads[configRef] } : {}),
    });
    await this.audit(env, {
      action: "stall",
      verdict: "stalled",
      commit: stalled.headCommit,
      reason: stalled.reason,
      details: { failures: streak.count, kind: streak.error.kind },
    });
    log.error({ env: env.name, failures: streak.count }, "environment Stalled: it needs a person");
  }

  private async remoteFailed(env: WatchedEnvironment, error: unknown): Promise<void> {
    const { store, now } = this.options;
    const state = await store.status(env.name);
    if (state?.stale && this.outages.has(env.name)) return;
    const reason = error instanceof Error ? error.message : String(error);
    const since = state?.stale?.since ?? now().toISOString();
    const lastPollAt = this.lastPoll.get(env.name)?.toISOString() ?? state?.lastRunAt;
    const known = state ?? neverChecked(env, now().toISOString());
    await store.setStatus({ ...known, stale: { since, ...(lastPollAt ? { lastPollAt } : {}), reason } });
    this.outages.add(env.name);
    // Audited once per outage: a restart that finds the mark already set does not audit it again.
    if (state?.stale) return;
    await this.audit(env, {
      action: "outage",
      verdict: "started",
      reason,
      details: { status: known.status },
    });
    this.options.log.warn(
      { env: env.name, status: known.status, err: error },
      "the remote cannot be polled: the status is kept, marked stale",
    );
  }

  /** The environment's status now, without a stale mark the remote's answer ended. */
  private async remoteAnswered(
    env: WatchedEnvironment,
    known: EnvironmentState | undefined,
  ): Promise<EnvironmentState | undefined> {
    const { store, now } = this.options;
    this.lastPoll.set(env.name, now());
    this.outages.delete(env.name);
    if (known && !known.stale) return known;
    // Read again before a mark is cleared (it may be a previous process's).
    const state = await store.status(env.name);
    if (!state?.stale) return state;
    const { stale, ...fresh } = state;
    await store.setStatus(fresh);
    await this.audit(env, {
      action: "outage",
      verdict: "ended",
      reason: `the remote answers again (stale since ${stale.since}: ${stale.reason})`,
      details: { since: stale.since, status: state.status },
    });
    this.options.log.info(
      { env: env.name, since: stale.since },
      "the remote answers again: stale mark cleared",
    );
    return fresh;
  }

  private async audit(
    env: WatchedEnvironment,
    entry: Omit<AuditInput, "actor" | "environment">,
  ): Promise<void> {
    try {
      await this.options.audit({ actor: ENGINE_ACTOR, environment: env.name, ...entry });
    } catch (err) {
      this.options.log.error({ env: env.name, action: entry.action, err }, "could not audit");
    }
  }
}

function neverChecked(env: WatchedEnvironment, at: string): EnvironmentState {
  return {
    environment: env.name,
    branch: env.branch,
    stack: env.stack,
    status: "Unknown",
    reason: "never checked",
    pendingCount: 0,
    driftCount: 0,
    updatedAt: at,
  };
}
