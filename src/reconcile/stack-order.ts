import { stackDependents, stackLayers, type StackNode } from "../domain/stacks";

// How a run works through an environment's stacks: previews side by side, updates in dependency
// order; never more than `limit` at once, and nothing after a stack it depends on failed.

/** What became of one stack's work. */
export type StackOutcome<T> =
  | { name: string; kind: "done"; value: T }
  | { name: string; kind: "failed"; value?: T; error?: unknown }
  /** Not started: `because` is the stack it depends on (directly or not) that failed. */
  | { name: string; kind: "skipped"; because: string };

/**
 * `work` on every stack, at most `limit` at once: with `ordered`, a stack starts only once every
 * stack it depends on is done, and is skipped when one failed (work returning `ok: false` or
 * throwing); without, all start as slots free up, in dependency order. Outcomes come back in the
 * stacks' dependency order, whatever order they ended in.
 */
export async function forEachStack<S extends StackNode, T>(
  stacks: readonly S[],
  options: { limit: number; ordered: boolean },
  work: (stack: S) => Promise<{ ok: boolean; value: T }>,
): Promise<StackOutcome<T>[]> {
  const order = stackLayers(stacks).flat();
  const limit = Math.max(1, Math.floor(options.limit));
  const outcomes = new Map<string, StackOutcome<T>>();
  const started = new Set<string>();
  let running = 0;

  return new Promise((resolve) => {
    const finish = (outcome: StackOutcome<T>) => {
      outcomes.set(outcome.name, outcome);
      if (outcome.kind === "failed" && options.ordered) {
        for (const name of stackDependents(stacks, outcome.name)) {
          if (!outcomes.has(name)) outcomes.set(name, { name, kind: "skipped", because: outcome.name });
        }
      }
    };
    const ready = (stack: S) =>
      !started.has(stack.name) &&
      !outcomes.has(stack.name) &&
      (!options.ordered || stack.dependsOn.every((name) => outcomes.get(name)?.kind === "done"));
    const pump = () => {
      for (const stack of order) {
        if (running >= limit) break;
        if (!ready(stack)) continue;
        started.add(stack.name);
        running += 1;
        void run(stack);
      }
      if (running === 0) resolve(order.map((stack) => outcomes.get(stack.name)!));
    };
    const run = async (stack: S) => {
      try {
        const result = await work(stack);
        finish(
          result.ok
            ? { name: stack.name, kind: "done", value: result.value }
            : { name: stack.name, kind: "failed", value: result.value },
        );
      } catch (error) {
        finish({ name: stack.name, kind: "failed", error });
      }
      running -= 1;
      pump();
    };
    pump();
  });
}
