import { setTimeout as delay } from "node:timers/promises";
import type { RequestStore, WorkRequest } from "../adapters/store/port";

export type { WorkRequest };

/** Where the daemon reads requests other processes left for it (the store's requests table). */
export interface RequestSource {
  /** Requests after `seq`, oldest first, at most `limit`. */
  requestsSince(seq: number, limit?: number): Promise<WorkRequest[]>;
  /** Deletes requests made before `before` (ISO 8601). */
  pruneRequests?(before: string): Promise<number>;
  /** Wakes the feed when a request is added (PostgreSQL's LISTEN): it reads at once. */
  watchRequests?: RequestStore["watchRequests"];
}

/** How often the feed reads without a watch: every process on the host adds to the same file. */
const POLL_MS = 1_000;
/**
 * With a watch, reading is only the fallback for a listener dead without an error (a half-open
 * connection, noticed by TCP keepalive only after minutes): a wake is lost only then, since each
 * reconnection reads at once. 30 s bounds that rare delay, at 2 reads a minute per replica instead of 60.
 */
const WATCHED_POLL_MS = 30_000;

/** Requests older than this are of no use to any daemon: each looks at everything when it starts. */
const KEEP_REQUESTS_MS = 24 * 60 * 60_000;

export interface RequestFeedOptions {
  source: RequestSource;
  onRequest: (request: WorkRequest) => void | Promise<void>;
  /** Reading the source failed (reported once until it works again); the feed tries again next turn. */
  onError: (error: unknown) => void;
  /** How often to look (default 1 s, or 30 s when the source wakes the feed). */
  intervalMs?: number;
  /** For tests: waits ms, rejects when the signal aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const PAGE = 100;

/**
 * Polls a request source and hands each new request over, oldest first; a source that can watch
 * wakes it to read at once. skipExisting() first makes it start after what is already there (the
 * daemon looks at every environment when it starts).
 */
export class RequestFeed {
  private cursor = 0;
  private readonly controller = new AbortController();
  private loop: Promise<void> | undefined;
  private watch: Promise<(() => Promise<void>) | undefined> | undefined;
  /** Aborted by a wake: cuts the wait short. */
  private nap = new AbortController();
  private woken = false;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;

  constructor(private readonly options: RequestFeedOptions) {
    this.sleep = options.sleep ?? ((ms, signal) => delay(ms, undefined, { signal }));
  }

  /** Moves past every request already recorded, and drops the ones older than a day. */
  async skipExisting(now = new Date()): Promise<void> {
    await this.options.source.pruneRequests?.(new Date(now.getTime() - KEEP_REQUESTS_MS).toISOString());
    for (;;) {
      const page = await this.options.source.requestsSince(this.cursor, PAGE);
      const last = page.at(-1);
      if (last) this.cursor = last.seq;
      if (page.length < PAGE) return;
    }
  }

  /** Reads everything new now; resolves once it has been handed over. */
  async poll(): Promise<void> {
    for (;;) {
      const page = await this.options.source.requestsSince(this.cursor, PAGE);
      for (const request of page) {
        this.cursor = request.seq;
        await this.options.onRequest(request);
      }
      if (page.length < PAGE) return;
    }
  }

  start(): void {
    const { source, onError } = this.options;
    this.watch ??= source.watchRequests
      ? source.watchRequests({ onWake: () => this.wake(), onError }).catch((error: unknown) => {
          onError(error);
          return undefined;
        })
      : Promise.resolve(undefined);
    this.loop ??= this.run();
  }

  /** Stops the loop and the watch. */
  async stop(): Promise<void> {
    this.controller.abort();
    await this.loop;
    await (
      await this.watch
    )?.();
  }

  /** Reads at once: now if it waits, else as soon as the read under way ends. */
  private wake(): void {
    this.woken = true;
    this.nap.abort();
  }

  private async run(): Promise<void> {
    const { signal } = this.controller;
    const intervalMs =
      this.options.intervalMs ?? (this.options.source.watchRequests ? WATCHED_POLL_MS : POLL_MS);
    let failing = false;
    while (!signal.aborted) {
      this.woken = false;
      try {
        await this.poll();
        failing = false;
      } catch (error) {
        if (!failing) this.options.onError(error);
        failing = true;
      }
      // Woken during the read: the request may have come after it.
      if (this.woken) continue;
      this.nap = new AbortController();
      await this.sleep(intervalMs, AbortSignal.any([signal, this.nap.signal])).catch(() => undefined);
    }
  }
}
