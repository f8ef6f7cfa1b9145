import type { ResolvedEnvironment } from "../config/resolve";
import type { WorkRequest } from "./queue";
import type { Scheduler } from "./scheduler";

/** Jitter so environments sharing a schedule do not all hit Git and the backend in the same second. */
const POLL_JITTER_MS = 2_000;
const DRIFT_JITTER_MS = 5_000;

/**
 * Adds every environment's poll and drift schedules to the scheduler; each tick asks the queue for a
 * look at its environment, which runs it when the environment is free.
 */
export function scheduleEnvironments(
  scheduler: Scheduler,
  environments: readonly ResolvedEnvironment[],
  enqueue: (request: WorkRequest) => void,
): void {
  for (const env of environments) {
    scheduler.add({
      name: `poll:${env.name}`,
      cron: env.schedule.poll,
      jitterMs: POLL_JITTER_MS,
      // The tick's time, not the jittered one: the polls of one tick share one listing of the heads.
      tick: (at) =>
        enqueue({ key: env.name, kind: "poll", priority: "schedule", reason: "schedule:poll", asOf: at }),
    });
    scheduler.add({
      name: `drift:${env.name}`,
      cron: env.schedule.drift,
      jitterMs: DRIFT_JITTER_MS,
      tick: (at) =>
        enqueue({ key: env.name, kind: "drift", priority: "schedule", reason: "schedule:drift", asOf: at }),
    });
  }
}
