import { setTimeout as delay } from "node:timers/promises";

// A keyed, de-duplicated work queue in the manner of client-go's workqueue (what Argo CD's controller
// queues refreshes on): a key waiting is in the queue once, however often it is asked for; a key
// being worked on is never handed to a second worker, and a request that arrives meanwhile runs
// once after it.

/** What to do with an environment: look at its branch head, look for drift, or both in full. */
export type WorkKind = "poll" | "drift" | "check";

/** A person's request runs before a schedule's tick. */
export type WorkPriority = "person" | "schedule";

export interface WorkRequest {
  /** The environment. */
  key: string;
  kind: WorkKind;
  priority: WorkPriority;
  /** Why, e.g. "schedule:poll" or "approved by alice@example.com". */
  reason: string;
  /** The branch heads its run reads must be listed at or after this (default: when it arrives). */
  asOf?: Date;
}

/** One unit of work: every request for the key that arrived while it waited, merged. */
export interface WorkItem {
  key: string;
  kind: WorkKind;
  priority: WorkPriority;
  /** Each distinct reason, oldest first. */
  reasons: string[];
  /** When the first of its requests arrived. */
  enqueuedAt: Date;
  /** The newest of its requests' asOf: the heads its run reads are listed at or after this. */
  asOf: Date;
}

/**
 * queued: a new item. merged: folded into the key's waiting item. requeued: the key is in flight, so
 * it runs again after. skipped: a schedule's tick the run in flight already covers. stopped: refused.
 */
export type AddOutcome = "queued" | "merged" | "requeued" | "skipped" | "stopped";

export type ItemResult =
  | { status: "succeeded" }
  | { status: "failed"; error: unknown }
  | { status: "dropped" }
  /** Another process held the key's environment: nothing ran, and the key is queued again later. */
  | { status: "held" };

/** What a run returns when another process held its environment: run it again after `afterMs`. */
export interface RunAgainLater {
  held: true;
  afterMs: number;
}

export interface AddResult {
  outcome: AddOutcome;
  /** Settles (never rejects) when the item carrying this request has run, or was dropped by stop(). */
  done: Promise<ItemResult>;
}

export interface QueueStats {
  /** Requests that made a new item (queued or requeued). */
  enqueued: number;
  /** Requests merged into an item already waiting. */
  coalesced: number;
  /** Items run, and of those, failed. */
  run: number;
  failed: number;
  /** Schedule ticks dropped because their environment was in flight with a run that covers them. */
  skippedInFlight: number;
  /** Runs skipped because another process held their environment; each was queued again. */
  skippedHeld: number;
  /** Now: items waiting, and keys in flight. */
  waiting: number;
  inFlight: number;
}

export interface StopResult {
  /** Keys still running at the deadline; empty when everything finished. */
  stillRunning: string[];
  /** Keys that were waiting and were not started. */
  dropped: string[];
}

export interface WorkQueueOptions {
  /**
   * Runs one item. The signal aborts when the queue stops and means "start nothing new": a run in
   * the middle of a Pulumi update lets it finish (interrupting it leaves pending operations).
   */
  run: (item: WorkItem, signal: AbortSignal) => Promise<void | RunAgainLater>;
  /** How many keys run at once (default 1). A key never runs concurrently with itself. */
  workers?: number;
  /**
   * The keys whose work goes first: a key waits while one of these runs or waits ahead of it (an
   * environment is checked after the one it is promoted from, whatever the workers). Acyclic.
   */
  upstream?: (key: string) => readonly string[];
  /** A run failed; the queue goes on. */
  onFailed?: (item: WorkItem, error: unknown) => void;
  /** A schedule's tick was dropped because its key is in flight. */
  onSkipped?: (request: WorkRequest) => void;
  /** For tests: the clock. */
  now?: () => Date;
  /** For tests: waits ms, rejects when the signal aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const KIND_BITS: Record<WorkKind, number> = { poll: 1, drift: 2, check: 3 };
const KIND_OF_BITS: WorkKind[] = ["poll", "poll", "drift", "check"];
const PRIORITY_RANK: Record<WorkPriority, number> = { schedule: 0, person: 1 };

/**
 * The kind that does both: a full check covers a poll (it looks at the head) and a drift check (it
 * refreshes); a poll and a drift check together need a full check.
 */
export function joinKinds(a: WorkKind, b: WorkKind): WorkKind {
  return KIND_OF_BITS[KIND_BITS[a] | KIND_BITS[b]] as WorkKind;
}

/** Whether a run of `running` also does what `wanted` asks. */
export function covers(running: WorkKind, wanted: WorkKind): boolean {
  return (KIND_BITS[running] | KIND_BITS[wanted]) === KIND_BITS[running];
}

interface Waiting {
  item: WorkItem;
  /** Arrival order among waiting items: ties in priority run first come, first served. */
  order: number;
  waiters: ((result: ItemResult) => void)[];
}

interface Running {
  item: WorkItem;
  finished: Promise<ItemResult>;
}

export class WorkQueue {
  // The dirty set (waiting, merged per key) and the processing set; a key may be in both, and then
  // its waiting item becomes ready only when the running one ends.
  private readonly waiting = new Map<string, Waiting>();
  private readonly running = new Map<string, Running>();
  private readonly controller = new AbortController();
  private readonly workers: number;
  private readonly now: () => Date;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private order = 0;
  private stopped = false;
  private readonly counters = {
    enqueued: 0,
    coalesced: 0,
    run: 0,
    failed: 0,
    skippedInFlight: 0,
    skippedHeld: 0,
  };

  constructor(private readonly options: WorkQueueOptions) {
    const workers = options.workers ?? 1;
    if (!Number.isInteger(workers) || workers < 1) {
      throw new Error(`workers must be a whole number >= 1, got ${workers}`);
    }
    this.workers = workers;
    this.now = options.now ?? (() => new Date());
    this.sleep = options.sleep ?? ((ms, signal) => delay(ms, undefined, { signal }));
  }

  add(request: WorkRequest): AddResult {
    if (this.stopped) return { outcome: "stopped", done: Promise.resolve({ status: "dropped" }) };
    const { key } = request;

    const queued = this.waiting.get(key);
    if (queued) {
      this.counters.coalesced++;
      merge(queued.item, request, this.now());
      return { outcome: "merged", done: this.waitFor(queued) };
    }

    const inFlight = this.running.get(key);
    if (inFlight && request.priority === "schedule" && covers(inFlight.item.kind, request.kind)) {
      // The run in flight does what the tick asks and the next tick looks again; a person's request
      // is different: it says something changed that the run in flight may have read too early.
      this.counters.skippedInFlight++;
      this.report(() => this.options.onSkipped?.(request));
      return { outcome: "skipped", done: inFlight.finished };
    }

    this.counters.enqueued++;
    const now = this.now();
    const entry: Waiting = {
      item: {
        key,
        kind: request.kind,
        priority: request.priority,
        reasons: [request.reason],
        enqueuedAt: now,
        asOf: request.asOf ?? now,
      },
      order: this.order++,
      waiters: [],
    };
    this.waiting.set(key, entry);
    const done = this.waitFor(entry);
    this.pump();
    return { outcome: inFlight ? "requeued" : "queued", done };
  }

  stats(): QueueStats {
    return { ...this.counters, waiting: this.waiting.size, inFlight: this.running.size };
  }

  /** Keys running now. */
  inFlight(): string[] {
    return [...this.running.keys()];
  }

  /** Keys waiting now, in the order they would start. */
  queued(): string[] {
    return [...this.waiting.values()].sort(before).map((w) => w.item.key);
  }

  /**
   * Graceful stop: takes no new request, drops what waits, tells the runs in flight to start nothing
   * new, and waits for them; with a timeout, no longer than that, naming those still running.
   */
  async stop(options: { timeoutMs?: number } = {}): Promise<StopResult> {
    this.stopped = true;
    this.controller.abort(new Error("the work queue is stopping"));
    const dropped = [...this.waiting.keys()];
    for (const entry of this.waiting.values())
      for (const resolve of entry.waiters) resolve({ status: "dropped" });
    this.waiting.clear();

    const settled = Promise.all([...this.running.values()].map((r) => r.finished)).then(() => undefined);
    if (options.timeoutMs === undefined) {
      await settled;
      return { stillRunning: [], dropped };
    }
    const timer = new AbortController();
    const expired = this.sleep(options.timeoutMs, timer.signal).catch(() => undefined);
    try {
      await Promise.race([settled, expired]);
    } finally {
      timer.abort();
    }
    return { stillRunning: this.inFlight(), dropped };
  }

  private waitFor(entry: Waiting): Promise<ItemResult> {
    return new Promise((resolve) => entry.waiters.push(resolve));
  }

  /** Starts waiting items, best first, while a worker is free; a key in flight waits its turn. */
  private pump(): void {
    while (!this.stopped && this.running.size < this.workers) {
      // One pass for the first ready item: a sweep queues hundreds at once, and sorting them all
      // for every start cost more than the no-change polls themselves.
      let next: Waiting | undefined;
      for (const entry of this.waiting.values())
        if ((next === undefined || before(entry, next) < 0) && this.ready(entry)) next = entry;
      if (!next) return;
      this.waiting.delete(next.item.key);
      this.start(next);
    }
  }

  private ready(entry: Waiting): boolean {
    if (this.running.has(entry.item.key)) return false;
    return !(this.options.upstream?.(entry.item.key) ?? []).some((key) => {
      const ahead = this.waiting.get(key);
      return this.running.has(key) || (ahead !== undefined && ahead.order < entry.order);
    });
  }

  private start(entry: Waiting): void {
    const { item } = entry;
    const finished = Promise.resolve()
      .then(() => this.options.run(item, this.controller.signal))
      .then(
        (value): ItemResult => {
          if (!value) return { status: "succeeded" };
          this.counters.skippedHeld++;
          this.again(item, value.afterMs);
          return { status: "held" };
        },
        (error: unknown): ItemResult => {
          this.counters.failed++;
          this.report(() => this.options.onFailed?.(item, error));
          return { status: "failed", error };
        },
      )
      .then((result) => {
        this.counters.run++;
        this.running.delete(item.key);
        for (const resolve of entry.waiters) resolve(result);
        this.pump();
        return result;
      });
    this.running.set(item.key, { item, finished });
  }

  // Not a busy loop: the holder is another process, and its run takes a while.
  private again(item: WorkItem, afterMs: number): void {
    const { key, kind, priority, reasons } = item;
    this.sleep(afterMs, this.controller.signal).then(
      () => void this.add({ key, kind, priority, reason: reasons.join(", ") }),
      () => undefined, // stopping: nothing is queued again
    );
  }

  // A throwing reporter must not break the queue; there is nowhere left to report it.
  private report(callback: () => void): void {
    try {
      callback();
    } catch {
      // ignored on purpose
    }
  }
}

function merge(item: WorkItem, request: WorkRequest, now: Date): void {
  item.kind = joinKinds(item.kind, request.kind);
  const asOf = request.asOf ?? now;
  if (asOf > item.asOf) item.asOf = asOf;
  if (PRIORITY_RANK[request.priority] > PRIORITY_RANK[item.priority]) item.priority = request.priority;
  if (!item.reasons.includes(request.reason)) item.reasons.push(request.reason);
}

function before(a: Waiting, b: Waiting): number {
  return PRIORITY_RANK[b.item.priority] - PRIORITY_RANK[a.item.priority] || a.order - b.order;
}
