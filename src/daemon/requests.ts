import { setTimeout as delay } from "node:timers/promises";
import type { WorkRequest } from "../adapters/store/port";

export type { WorkRequest };

/** Where the daemon reads requests other processes left for it (the store's requests table). */
export interface RequestSource {
  /** Requests after `seq`, oldest first, at most `limit`. */
  requestsSince(seq: number, limit?: number): Promise<WorkRequest[]>;
  /** Deletes requests made before `before` (ISO 8601). */
  pruneRequests?(before: string): Promise<number>;
}

/** Requests older than this are of no use to any daemon: each looks at everything when it starts. */
const KEEP_REQUESTS_MS = 24 * 60 * 60_000;

export interface RequestFeedOptions {
  source: RequestSource;
  onRequest: (request: WorkRequest) => void | Promise<void>;
  /** Reading the source failed (reported once until it works again); the feed tries again next turn. */
  onError: (error: unknown) => void;
  /** How often to look (default 1 s). */
  intervalMs?: number;
  /** For tests: waits ms, rejects when the signal aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const PAGE = 100;

/**
 * Polls a request source and hands each new request over, oldest first. skipExisting() first makes
 * it start after what is already there (the daemon looks at every environment when it starts).
 */
export class RequestFeed {
  private cursor = 0;
  private readonly controller = new AbortController();
  private loop: Promise<void> | undefined;
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
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { signal } = this.controller;
    let failing = false;
    while (!signal.aborted) {
      try {
        await this.poll();
        failing = false;
      } catch (error) {
        if (!failing) this.options.onError(error);
        failing = true;
      }
      await this.sleep(this.options.intervalMs ?? 1_000, signal).catch(() => undefined);
    }
  }
}
