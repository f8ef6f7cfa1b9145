import type { OwnerId } from "../../domain/owner";
import type { RunStore } from "./port";

export interface HeartbeatOptions {
  store: Pick<RunStore, "heartbeat">;
  owner: OwnerId;
  intervalMs: number;
  now?: () => Date;
  /** A beat the store refused; the next one tries again. */
  onError?: (error: unknown) => void;
}

/**
 * Refreshes the owner's heartbeat while at least one of its runs is in flight, so that another
 * process can tell this one's unfinished runs from runs a crash left behind.
 */
export class Heartbeat {
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: HeartbeatOptions) {}

  /** Runs `work` with the heartbeat going; the timer stops when the last run in flight ends. */
  async during<T>(work: () => Promise<T>): Promise<T> {
    if (this.inFlight++ === 0) {
      this.timer = setInterval(() => void this.beat(), this.options.intervalMs);
      this.timer.unref();
    }
    try {
      return await work();
    } finally {
      if (--this.inFlight === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    }
  }

  private async beat(): Promise<void> {
    const { store, owner, now, onError } = this.options;
    try {
      await store.heartbeat(owner, (now?.() ?? new Date()).toISOString());
    } catch (error) {
      onError?.(error);
    }
  }
}
