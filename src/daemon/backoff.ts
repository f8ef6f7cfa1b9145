import { jitterDelay } from "./jitter";

/** How long scheduled looks at a failing environment wait: doubling from `initialMs` up to `maxMs`. */
export interface RetrySettings {
  initialMs: number;
  maxMs: number;
}

/** Where an environment stands after failures in a row. */
export interface BackoffState {
  /** Failures in a row. */
  failures: number;
  /** The wait drawn after the last one. */
  delayMs: number;
  /** No scheduled look before this. */
  retryAt: Date;
}

/**
 * The wait after `failures` failures in a row: the ceiling doubles from initialMs to maxMs, and the
 * wait is drawn from its upper half ("equal jitter"), so it grows, and environments that failed
 * together do not all come back in the same second.
 */
export function retryDelay(
  failures: number,
  settings: RetrySettings,
  random: () => number = Math.random,
): number {
  const doublings = Math.min(Math.max(failures - 1, 0), 40);
  const ceiling = Math.min(settings.maxMs, settings.initialMs * 2 ** doublings);
  const half = Math.floor(ceiling / 2);
  return ceiling - half + jitterDelay(half, random);
}

/** Per environment, in memory: a restart starts afresh (the stall count is the store's, see stall.ts). */
export class Backoff {
  private readonly failing = new Map<string, BackoffState>();

  constructor(
    private readonly settings: RetrySettings,
    private readonly now: () => Date,
    private readonly random: () => number = Math.random,
  ) {}

  /** Records one more failure of `key` and returns when it may be looked at again on schedule. */
  failed(key: string): BackoffState {
    const failures = (this.failing.get(key)?.failures ?? 0) + 1;
    const delayMs = retryDelay(failures, this.settings, this.random);
    const state = { failures, delayMs, retryAt: new Date(this.now().getTime() + delayMs) };
    this.failing.set(key, state);
    return state;
  }

  /** A success: the next failure waits the initial time again. Returns the state it cleared. */
  succeeded(key: string): BackoffState | undefined {
    const was = this.failing.get(key);
    this.failing.delete(key);
    return was;
  }

  /** The back-off a scheduled look at `key` is inside now, if any. */
  holding(key: string): BackoffState | undefined {
    const state = this.failing.get(key);
    return state && state.retryAt.getTime() > this.now().getTime() ? state : undefined;
  }
}
