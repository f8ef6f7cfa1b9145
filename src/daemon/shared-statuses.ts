import { setImmediate } from "node:timers/promises";
import type { Store } from "../adapters/store/port";
import type { EnvironmentState } from "../domain/model";

/**
 * The polls of one tick share one read of every environment's status, as they share one listing of
 * the heads (src/adapters/git/shared-heads.ts): a poll asks for the statuses as read at or after
 * its tick. A status this process may have changed since is forgotten, and read again. Another
 * process's write after the read is seen at the next tick, as a push after the listing is.
 */
export class SharedStatuses {
  private latest:
    { startedAt: number; all: Promise<Map<string, EnvironmentState>>; forgotten: Set<string> } | undefined;

  constructor(
    private readonly store: Pick<Store, "status" | "statuses">,
    private readonly now: () => number = Date.now,
  ) {}

  /** The environment's status, read at or after `notBefore`. */
  async status(name: string, notBefore: Date): Promise<EnvironmentState | undefined> {
    let latest = this.latest;
    if (latest === undefined || latest.startedAt < notBefore.getTime()) {
      const current = {
        startedAt: this.now(),
        // After this turn of the event loop, by when the tick's listing of the heads has usually
        // started its process: the read then overlaps the listing instead of delaying it.
        all: setImmediate()
          .then(() => this.store.statuses())
          .then((all) => new Map(all.map((s) => [s.environment, s]))),
        forgotten: new Set<string>(),
      };
      this.latest = latest = current;
    }
    const { all, forgotten } = latest;
    // A shared read that failed (one corrupt row fails them all) leaves each poll of its tick its own
    // read, so only the environment whose row is bad fails; the next tick shares a read again.
    const state = forgotten.has(name) ? undefined : (await all.catch(() => undefined))?.get(name);
    return state ?? this.store.status(name);
  }

  /** The environment's status may have changed: the next look reads it again. */
  forget(name: string): void {
    this.latest?.forgotten.add(name);
  }
}
