import type { EnvironmentStatus } from "../domain/model";
import type { ReadPorts } from "./read";

// Which run each environment saw last, from the store's status rows alone (one read, however many
// environments): what a page that updates itself watches. `tidegate serve` may run in another
// process than the daemon, so the store is the only common ground.

export interface RunMark {
  environment: string;
  /** Undefined until the environment's first run. */
  runId?: string;
  status: EnvironmentStatus;
  updatedAt?: string;
}

/** Every environment's latest run, as the store's status rows say. */
export async function runMarks(read: Pick<ReadPorts, "store">): Promise<RunMark[]> {
  const states = (await read.store?.statuses()) ?? [];
  return states.map((state) => ({
    environment: state.environment,
    ...(state.lastRunId === undefined ? {} : { runId: state.lastRunId }),
    status: state.status,
    updatedAt: state.updatedAt,
  }));
}

/** The marks of `current` whose run differs from `previous` (a new run, or the same run's status changed). */
export function changedRuns(previous: readonly RunMark[], current: readonly RunMark[]): RunMark[] {
  const before = new Map(previous.map((mark) => [mark.environment, mark]));
  return current.filter((mark) => {
    const old = before.get(mark.environment);
    return mark.runId !== undefined && (old?.runId !== mark.runId || old.status !== mark.status);
  });
}

export interface RunWatch {
  stop(): void;
}

/**
 * Polls `marks` every `intervalMs` and calls `onRun` for each environment whose latest run changed
 * since the previous poll (the first poll only sets the baseline). A failed poll is reported to
 * `onError` and the next one tries again.
 */
export function watchRuns(options: {
  marks: () => Promise<RunMark[]>;
  intervalMs: number;
  onRun: (mark: RunMark) => void;
  onError: (error: unknown) => void;
}): RunWatch {
  let previous: RunMark[] | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const poll = async () => {
    try {
      const current = await options.marks();
      if (stopped) return;
      if (previous) for (const mark of changedRuns(previous, current)) options.onRun(mark);
      previous = current;
    } catch (error) {
      if (!stopped) options.onError(error);
    }
    if (!stopped) timer = setTimeout(() => void poll(), options.intervalMs);
  };
  void poll();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
