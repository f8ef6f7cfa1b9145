/** Returned instead of a result when another operation on the same key was already running. */
export interface Skipped {
  skipped: true;
  reason: "busy";
}

export function isSkipped(value: unknown): value is Skipped {
  return typeof value === "object" && value !== null && (value as Partial<Skipped>).skipped === true;
}

export interface SingleFlightOptions {
  /** Wait for the running operation, then run (CLI commands). Default: skip (scheduled ticks). */
  wait?: boolean;
}

/**
 * At most one operation per key (per stack) at a time in this process. A scheduled tick that finds
 * its stack busy is skipped rather than queued: the next tick looks again, and a queue of stale checks
 * would only delay the fresh one. Across processes, the environment's lease in the store takes over
 * (src/app/environment-lease.ts).
 */
export class SingleFlight {
  private readonly running = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>, options: { wait: true }): Promise<T>;
  run<T>(key: string, fn: () => Promise<T>, options?: SingleFlightOptions): Promise<T | Skipped>;
  async run<T>(key: string, fn: () => Promise<T>, options: SingleFlightOptions = {}): Promise<T | Skipped> {
    if (options.wait) {
      // Loop: when the holder finishes, another waiter may have taken the key first.
      for (let current = this.running.get(key); current; current = this.running.get(key)) {
        await current.catch(() => undefined);
      }
    } else if (this.running.has(key)) {
      return { skipped: true, reason: "busy" };
    }

    const operation = Promise.resolve().then(fn);
    this.running.set(key, operation);
    try {
      return await operation;
    } finally {
      if (this.running.get(key) === operation) this.running.delete(key);
    }
  }

  busy(key: string): boolean {
    return this.running.has(key);
  }

  /** Keys with an operation running now. */
  keys(): string[] {
    return [...this.running.keys()];
  }
}
