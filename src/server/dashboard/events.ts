import { type RunMark, type RunWatch, watchRuns } from "../../app/watch";

// One watcher of the store for every open page: it polls while at least one page listens, stops
// when the last one leaves, and for good when the server closes.

export type RunListener = (mark: RunMark) => void;

export class RunFeed {
  private readonly listeners = new Set<RunListener>();
  private watch: RunWatch | undefined;
  private closed = false;

  constructor(
    private readonly options: {
      marks: () => Promise<RunMark[]>;
      intervalMs: number;
      onError: (error: unknown) => void;
    },
  ) {}

  /** Calls `listener` for each run that changes from now on; returns what unsubscribes it. */
  subscribe(listener: RunListener): () => void {
    if (this.closed) return () => {};
    this.listeners.add(listener);
    this.watch ??= watchRuns({
      marks: this.options.marks,
      intervalMs: this.options.intervalMs,
      onRun: (mark) => {
        for (const each of this.listeners) each(mark);
      },
      onError: this.options.onError,
    });
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stopWatching();
    };
  }

  get listening(): number {
    return this.listeners.size;
  }

  get watching(): boolean {
    return this.watch !== undefined;
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
    this.stopWatching();
  }

  private stopWatching(): void {
    this.watch?.stop();
    this.watch = undefined;
  }
}
