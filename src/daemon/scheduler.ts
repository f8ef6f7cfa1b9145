import { CronJob } from "cron";
import { setTimeout as delay } from "node:timers/promises";
import { jitterDelay } from "./jitter";
import { isSkipped, SingleFlight } from "../app/single-flight";

export interface JobConfig {
  /** Unique in the scheduler, e.g. "test:drift". */
  name: string;
  /** Cron expression: 5 fields, or 6 with seconds first. */
  cron: string;
  /** IANA time zone the expression is read in, e.g. "Europe/Paris". Default: the process's. */
  timeZone?: string;
  /** Each scheduled run first waits a random 0..jitterMs. */
  jitterMs?: number;
  /** Single-flight key: jobs on the same stack share one so they never overlap. Default: the name. */
  key?: string;
  /**
   * One run. The signal aborts when the scheduler stops and means "start nothing new": a job in the
   * middle of a Pulumi update lets it finish (interrupting it leaves pending operations to clean up),
   * then returns without starting its next step.
   */
  run: (signal: AbortSignal) => Promise<void>;
}

export type SkipReason = "busy" | "stopped";

export type RunResult =
  { status: "succeeded" } | { status: "failed"; error: unknown } | { status: "skipped"; reason: SkipReason };

export interface StopResult {
  /** Jobs still running when the timeout expired; empty when everything finished. */
  stillRunning: string[];
}

export interface SchedulerOptions {
  /** A run failed. Called for every failure; the scheduler itself never stops for one. */
  onError: (job: JobConfig, error: unknown) => void;
  /** A run did not start: its stack was busy, or the scheduler was stopping. */
  onSkip?: (job: JobConfig, reason: SkipReason) => void;
  /** Share one with the CLI commands of this process so they and scheduled runs never overlap. */
  singleFlight?: SingleFlight;
  /** For tests: 0 <= r < 1, as Math.random. */
  random?: () => number;
  /** For tests: waits ms, rejects when the signal aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

interface Entry {
  job: JobConfig;
  key: string;
  cron: CronJob;
}

/**
 * Runs jobs on cron schedules, at most one per key at a time, with jitter, and stops gracefully.
 * One scheduler per engine: it owns its timers and its AbortController, nothing is shared globally.
 */
export class Scheduler {
  private readonly jobs = new Map<string, Entry>();
  // Every run in progress (including its jitter wait) and its job's name; runs never reject.
  private readonly inFlight = new Map<Promise<RunResult>, string>();
  private readonly controller = new AbortController();
  private readonly flights: SingleFlight;
  private readonly random: () => number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private state: "created" | "started" | "stopped" = "created";

  constructor(private readonly options: SchedulerOptions) {
    this.flights = options.singleFlight ?? new SingleFlight();
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? ((ms, signal) => delay(ms, undefined, { signal }));
  }

  add(job: JobConfig): void {
    if (this.state === "stopped") throw new Error(`cannot add job "${job.name}": the scheduler has stopped`);
    if (this.jobs.has(job.name)) throw new Error(`job "${job.name}" is already scheduled`);
    if (job.jitterMs !== undefined && !(Number.isFinite(job.jitterMs) && job.jitterMs >= 0)) {
      throw new Error(
        `job "${job.name}": jitterMs must be a number of milliseconds >= 0, got ${job.jitterMs}`,
      );
    }
    let cron: CronJob;
    try {
      cron = CronJob.from({
        cronTime: job.cron,
        timeZone: job.timeZone,
        name: job.name,
        start: false,
        onTick: () => void this.trigger(job.name, true),
      });
    } catch (error) {
      const zone = job.timeZone ? ` in time zone "${job.timeZone}"` : "";
      throw new Error(`job "${job.name}": invalid schedule "${job.cron}"${zone}: ${messageOf(error)}`, {
        cause: error,
      });
    }
    this.jobs.set(job.name, { job, key: job.key ?? job.name, cron });
    if (this.state === "started") cron.start();
  }

  start(): void {
    if (this.state === "stopped") throw new Error("the scheduler has stopped: create a new one");
    if (this.state === "started") return;
    this.state = "started";
    for (const entry of this.jobs.values()) entry.cron.start();
  }

  /**
   * Runs a job now, without jitter unless asked (push, webhook, startup), through the same
   * single-flight as scheduled runs: if its stack is busy, the result says skipped.
   */
  async runNow(name: string, options: { jitter?: boolean } = {}): Promise<RunResult> {
    if (!this.jobs.has(name)) throw new Error(`unknown job "${name}"`);
    return this.trigger(name, options.jitter ?? false);
  }

  /** When the job fires next, or undefined for an unknown job. */
  nextRun(name: string): Date | undefined {
    return this.jobs.get(name)?.cron.nextDate().toJSDate();
  }

  /** Names of the jobs running now (or waiting out their jitter). */
  running(): string[] {
    return [...new Set(this.inFlight.values())];
  }

  /**
   * Graceful stop: no new tick fires, the shared signal aborts (jobs start nothing new), and the runs
   * in progress are awaited. With a timeout, resolves when it expires and names the jobs still running.
   */
  async stop(options: { timeoutMs?: number } = {}): Promise<StopResult> {
    this.state = "stopped";
    for (const entry of this.jobs.values()) void entry.cron.stop();
    this.controller.abort(new Error("the scheduler is stopping"));

    const settled = Promise.all(this.inFlight.keys()).then(() => undefined);
    if (options.timeoutMs === undefined) {
      await settled;
      return { stillRunning: [] };
    }
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, options.timeoutMs);
    });
    try {
      await Promise.race([settled, expired]);
    } finally {
      clearTimeout(timer);
    }
    return { stillRunning: this.running() };
  }

  private trigger(name: string, jitter: boolean): Promise<RunResult> {
    const entry = this.jobs.get(name);
    if (!entry) return Promise.resolve({ status: "failed", error: new Error(`unknown job "${name}"`) });
    if (this.controller.signal.aborted) return Promise.resolve(this.skip(entry, "stopped"));
    const run = this.execute(entry, jitter);
    this.inFlight.set(run, name);
    void run.then(() => this.inFlight.delete(run));
    return run;
  }

  /** Never rejects: a failure is reported and returned, so it stops neither other jobs nor later ticks. */
  private async execute(entry: Entry, jitter: boolean): Promise<RunResult> {
    const signal = this.controller.signal;
    try {
      const wait = jitter ? jitterDelay(entry.job.jitterMs ?? 0, this.random) : 0;
      if (wait > 0) await this.pause(wait, signal);
      if (signal.aborted) return this.skip(entry, "stopped");
      const result = await this.flights.run(entry.key, () => entry.job.run(signal));
      return isSkipped(result) ? this.skip(entry, result.reason) : { status: "succeeded" };
    } catch (error) {
      this.notify(() => this.options.onError(entry.job, error));
      return { status: "failed", error };
    }
  }

  /** Ends early, without error, when the scheduler stops during the wait. */
  private async pause(ms: number, signal: AbortSignal): Promise<void> {
    try {
      await this.sleep(ms, signal);
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  }

  private skip(entry: Entry, reason: SkipReason): RunResult {
    this.notify(() => this.options.onSkip?.(entry.job, reason));
    return { status: "skipped", reason };
  }

  // A throwing reporter must not break the scheduler; there is nowhere left to report it.
  private notify(callback: () => void): void {
    try {
      callback();
    } catch {
      // ignored on purpose
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
