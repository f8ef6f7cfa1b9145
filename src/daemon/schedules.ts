import type { Engine } from "../app/engine";
import type { Logger } from "../log";
import { Scheduler } from "./scheduler";

/**
 * Runs the schedules of every environment of an engine until stop(). One environment's failure
 * never stops the others.
 */
export class Schedules {
  private scheduler: Scheduler | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly log: Logger,
  ) {}

  start(): void {
    const { engine, log } = this;
    const scheduler = new Scheduler({
      singleFlight: engine.flights,
      onError: (job, err) => log.error({ job: job.name, err }, "scheduled job failed"),
    });
    for (const env of engine.environments) {
      const key = `stack:${env.stack}`;
      scheduler.add({
        name: `poll:${env.name}`,
        key: `${key}:poll`,
        cron: env.schedule.poll,
        jitterMs: 2000,
        run: async () => void (await engine.poll(env.name)),
      });
      scheduler.add({
        name: `drift:${env.name}`,
        key: `${key}:drift`,
        cron: env.schedule.drift,
        jitterMs: 5000,
        run: async () =>
          void (await engine.check(env.name, { kind: "drift", trigger: "schedule", allowSync: true })),
      });
    }
    scheduler.start();
    this.scheduler = scheduler;
  }

  /** Stops scheduling and waits for the runs in flight; returns those still running at the deadline. */
  async stop(): Promise<string[]> {
    const result = (await this.scheduler?.stop({ timeoutMs: 10 * 60_000 })) ?? { stillRunning: [] };
    return result.stillRunning;
  }
}
