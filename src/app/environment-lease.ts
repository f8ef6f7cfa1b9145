import { setTimeout as delay } from "node:timers/promises";
import type { IsDead, LeaseStore, OwnerId } from "../adapters/store/port";
import { TidegateError } from "../domain/errors";
import { formatOwnerId, parseOwnerId } from "../domain/owner";
import { formatDuration } from "../gates/duration";

// One writer per environment across every tidegate process on one store: a run holds the lease
// `environment:<name>` from before its checkout until its deployed commit is recorded, so no other
// process can check out another commit into the same worktree between its preview and its update.

/** Without a renewal for this long, a holder on another host is taken for gone. */
export const ENVIRONMENT_LEASE_TTL_MS = 60_000;
/** How often a holder renews its lease (several times per TTL). */
export const ENVIRONMENT_LEASE_RENEW_MS = 10_000;
/** How often a waiting process asks again. */
export const ENVIRONMENT_LEASE_POLL_MS = 1_000;
/** How long a CLI command waits for the holder by default. */
export const DEFAULT_LEASE_WAIT_MS = 10 * 60_000;

/** Who holds an environment, as a person reads it. */
export interface LeaseHolder {
  /** The owner id as stored. */
  owner: OwnerId;
  host?: string;
  pid?: number;
  /** The holder's run (the owner id's suffix: see runOwnerId). */
  runId?: string;
  /** ISO 8601: when the holder took it. */
  since: string;
}

/**
 * What to do when another process holds the environment: wait for it up to `timeoutMs` (a command a
 * person runs; `onWaiting` is told once), or give up at once (the daemon, which looks again later).
 */
export type LeasePolicy =
  { kind: "wait"; timeoutMs: number; onWaiting?: (holder: LeaseHolder) => void } | { kind: "skip" };

export const SKIP_IF_HELD: LeasePolicy = { kind: "skip" };
export const WAIT_IF_HELD: LeasePolicy = { kind: "wait", timeoutMs: DEFAULT_LEASE_WAIT_MS };

/** Another process holds the environment (and the bound, if any, passed). */
export class EnvironmentHeldError extends TidegateError {
  constructor(
    readonly environment: string,
    readonly holder: LeaseHolder,
    waitedMs?: number,
  ) {
    super(
      "conflict",
      `environment ${environment} is held by ${describeHolder(holder)}` +
        (waitedMs === undefined ? "" : `; gave up after waiting ${formatDuration(waitedMs)}`),
      {
        recovery: `wait for that run to finish (\`tidegate status ${environment}\`) and try again, or wait longer with --wait; a holder that died on this host is taken over at once, on another host ${formatDuration(ENVIRONMENT_LEASE_TTL_MS)} after its last renewal`,
        remoteSafe: true,
      },
    );
    this.name = "EnvironmentHeldError";
  }
}

/** "<host> pid <pid> (run <id>, since <time>)", as far as the owner id tells. */
export function describeHolder(holder: LeaseHolder): string {
  const who = holder.host !== undefined ? `${holder.host} pid ${holder.pid}` : holder.owner;
  return `${who} (${holder.runId !== undefined ? `run ${holder.runId}, ` : ""}since ${holder.since})`;
}

/** The owner id one run holds a lease under: its process's id with the run's id as the suffix. */
export function runOwnerId(owner: OwnerId, runId: string): OwnerId {
  const parts = parseOwnerId(owner);
  return parts ? formatOwnerId({ ...parts, suffix: runId }) : `${owner}:${runId}`;
}

export interface EnvironmentLeaseOptions {
  store: Pick<LeaseStore, "acquire" | "renew" | "release" | "holder">;
  /** Whether a holder is dead (this host: its pid; elsewhere: its last renewal). */
  isDead: IsDead;
  /** The owner the lease is taken for (see runOwnerId). */
  owner: OwnerId;
  ttlMs?: number;
  renewMs?: number;
  pollMs?: number;
  /** The wall clock, epoch ms: leases expire in real time, whatever clock the gates read. */
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** A renewal failed or found the lease taken over; the run goes on (it cannot be stopped safely). */
  onRenewFailed?: (error: unknown) => void;
}

/** Runs `work` holding the environment's lease; waits for or skips another holder as `policy` says. */
export async function withEnvironmentLease<T>(
  environment: string,
  policy: LeasePolicy,
  options: EnvironmentLeaseOptions,
  work: () => Promise<T>,
): Promise<T> {
  const { store, owner } = options;
  const key = `environment:${environment}`;
  const ttl = options.ttlMs ?? ENVIRONMENT_LEASE_TTL_MS;
  const clock = options.clock ?? Date.now;
  const at = () => new Date(clock()).toISOString();
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  const started = clock();
  let told = false;
  while (!(await store.acquire(key, owner, ttl, at(), options.isDead))) {
    const held = await store.holder(key);
    if (!held) continue; // released between the two calls: try again at once
    const holder = holderOf(held.owner, held.acquiredAt);
    if (policy.kind === "skip") throw new EnvironmentHeldError(environment, holder);
    const waited = clock() - started;
    if (waited >= policy.timeoutMs) throw new EnvironmentHeldError(environment, holder, waited);
    if (!told) {
      told = true;
      policy.onWaiting?.(holder);
    }
    await sleep(Math.min(options.pollMs ?? ENVIRONMENT_LEASE_POLL_MS, policy.timeoutMs - waited));
  }

  const renew = async () => {
    try {
      const renewed = await store.renew(key, owner, ttl, at());
      if (!renewed)
        throw new Error(`the lease on environment ${environment} was taken over by another process`);
    } catch (error) {
      options.onRenewFailed?.(error);
    }
  };
  const timer = setInterval(() => void renew(), options.renewMs ?? ENVIRONMENT_LEASE_RENEW_MS);
  timer.unref();
  try {
    return await work();
  } finally {
    clearInterval(timer);
    // A release that fails leaves the lease to expire: the next holder waits its TTL at most.
    await store.release(key, owner).catch((error: unknown) => options.onRenewFailed?.(error));
  }
}

function holderOf(owner: OwnerId, since: string): LeaseHolder {
  const parts = parseOwnerId(owner);
  return parts ? { owner, host: parts.host, pid: parts.pid, runId: parts.suffix, since } : { owner, since };
}
