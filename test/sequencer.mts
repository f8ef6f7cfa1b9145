import { BaseSequencer, type TestSpecification } from "vitest/node";

/** The projects that share one group of two workers (see vitest.config.mts). */
export const LINES = ["integration", "service"] as const;

/**
 * Vitest's order, with the files of the two lines taken in turns, so that each worker of their
 * group mostly runs an engine-heavy file beside one that waits; otherwise both workers would run
 * the engine files together first, then the waiting ones together.
 */
export class Sequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return alternate(await super.sort(files), (spec) => spec.project.name);
  }
}

/** `sorted` with the members of LINES taken in turns, where the first of them stood; the rest kept in place. */
export function alternate<T>(sorted: readonly T[], line: (item: T) => string): T[] {
  const queues = LINES.map((name) => sorted.filter((item) => line(item) === name));
  const first = sorted.findIndex((item) => (LINES as readonly string[]).includes(line(item)));
  if (first < 0) return [...sorted];
  const turns: T[] = [];
  for (let i = 0; queues.some((q) => i < q.length); i++)
    for (const q of queues) if (i < q.length) turns.push(q[i] as T);
  const rest = sorted.filter((item) => !(LINES as readonly string[]).includes(line(item)));
  return [...rest.slice(0, first), ...turns, ...rest.slice(first)];
}
