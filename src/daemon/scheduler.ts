import { CronJob } from "cron";
import { jitterDelay } from "./jitter";

export interface TickConfig {
  /** Unique in the scheduler, e.g. "poll:test". */
  name: string;
  /** Cron expression: 5 fields, or 6 with seconds first. */
  cron: string;
  /** IANA time zone the expression is read in, e.g. "Europe/Paris". Default: the process's. */
  timeZone?: string;
  /** Each tick first waits a random 0..jitterMs. */
  jitterMs?: number;
  /** What a tick does: put work on the queue (quick; never throws). `at`: the second it was due, before its jitter. */
  tick: (at: Date) => void;
}

export interface SchedulerOptions {
  /** For tests: 0 <= r < 1, as Math.random. */
  random?: () => number;
}

interface Entry {
  config: TickConfig;
  cron: CronJob;
}

/**
 * Fires ticks on cron schedules, each after its jitter, until stop(). A tick only asks for work: the
 * work queue runs it, one run per environment at a time, so nothing here waits for a run.
 */
export class Scheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly random: () => number;
  private state: "created" | "started" | "stopped" = "created";

  constructor(options: SchedulerOptions = {}) {
    this.random = options.random ?? Math.random;
  }

  add(config: TickConfig): void {
    if (this.state === "stopped") throw new Error(`cannot add "${config.name}": the scheduler has stopped`);
    if (this.entries.has(config.name)) throw new Error(`"${config.name}" is already scheduled`);
    if (config.jitterMs !== undefined && !(Number.isFinite(config.jitterMs) && config.jitterMs >= 0)) {
      throw new Error(
        `"${config.name}": jitterMs must be a number of milliseconds >= 0, got ${config.jitterMs}`,
      );
    }
    let cron: CronJob;
    try {
      cron = CronJob.from({
        cronTime: config.cron,
        timeZone: config.timeZone,
        name: config.name,
        start: false,
        onTick: () => this.fire(config),
      });
    } catch (error) {
      const zone = config.timeZone ? ` in time zone "${config.timeZone}"` : "";
      throw new Error(`"${config.name}": invalid schedule "${config.cron}"${zone}: ${messageOf(error)}`, {
        cause: error,
      });
    }
    this.entries.set(config.name, { config, cron });
    if (this.state === "started") cron.start();
  }

  start(): void {
    if (this.state === "stopped") throw new Error("the scheduler has stopped: create a new one");
    if (this.state === "started") return;
    this.state = "started";
    for (const entry of this.entries.values()) entry.cron.start();
  }

  /** When a tick fires next, or undefined for an unknown name. */
  nextTick(name: string): Date | undefined {
    return this.entries.get(name)?.cron.nextDate().toJSDate();
  }

  /** No tick fires any more, including those waiting out their jitter. */
  stop(): void {
    this.state = "stopped";
    for (const entry of this.entries.values()) void entry.cron.stop();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private fire(config: TickConfig): void {
    if (this.state !== "started") return;
    // The tick's scheduled second (cron's finest unit): every schedule due then shares it, however
    // late each timer fires, so the polls of one tick can share one listing of the remote's heads.
    const at = new Date(Math.floor(Date.now() / 1000) * 1000);
    const wait = jitterDelay(config.jitterMs ?? 0, this.random);
    if (wait === 0) return this.tick(config, at);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.state === "started") this.tick(config, at);
    }, wait);
    this.timers.add(timer);
  }

  // A throwing tick must not stop the cron job; the queue reports its own failures.
  private tick(config: TickConfig, at: Date): void {
    try {
      config.tick(at);
    } catch {
      // ignored on purpose
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
