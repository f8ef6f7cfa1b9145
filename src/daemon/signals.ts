/** The part of `process` that shutdown handling touches; tests pass an EventEmitter with an exit stub. */
export interface SignalTarget {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  exit(code: number): void;
}

export interface ShutdownOptions {
  /** What is still running, named in the message when a later signal forces the exit. */
  running?: () => string[];
  /**
   * Cancels the work in flight gracefully (Pulumi's own cancellation), on the second signal; the
   * third then forces the exit. Without it, the second signal forces the exit.
   */
  cancel?: () => void;
  /** Default: process. */
  target?: SignalTarget;
  /** Default: stderr. */
  write?: (line: string) => void;
}

/** Exit code for an interrupted process (128 + SIGINT), used whichever signal forced the exit. */
export const FORCED_EXIT_CODE = 130;
const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM"];

/**
 * Calls `handler` once on the first SIGINT or SIGTERM (e.g. to stop the scheduler and let the update
 * in flight finish: the processes tidegate starts are in sessions of their own, so the terminal's
 * Ctrl-C does not reach them). With `cancel`, the second signal calls it (Pulumi stops gracefully and
 * the run says what state it left). The next signal exits at once with code 130, naming what was still
 * running (what tidegate started dies with it). If the handler fails, the process exits with code 1.
 * When the handler resolves, exiting is left to the caller (or to an empty event loop). Returns a
 * function that removes the signal handlers.
 */
export function onShutdown(
  handler: (signal: NodeJS.Signals) => Promise<void>,
  options: ShutdownOptions = {},
): () => void {
  const target = options.target ?? process;
  const write = options.write ?? ((line: string) => void process.stderr.write(`${line}\n`));
  let received = 0;

  const listener = (signal: NodeJS.Signals) => {
    received += 1;
    if (received === 2 && options.cancel) {
      write(
        `received ${signal} again; cancelling the work in flight through Pulumi: it stops once the resource operations under way finish, and says whether it left pending operations (${signal} once more exits at once, and may leave them)`,
      );
      options.cancel();
      return;
    }
    if (received > 1) {
      const running = options.running?.() ?? [];
      const what = running.length > 0 ? `still running: ${running.join(", ")}` : "nothing was running";
      write(
        `received ${signal} again; exiting now (${what}); an update cut short leaves pending operations: see \`tidegate status\` and run \`tidegate recover <env>\``,
      );
      target.exit(FORCED_EXIT_CODE);
      return;
    }
    // Through a promise, so a handler that throws synchronously is reported the same way.
    Promise.resolve()
      .then(() => handler(signal))
      .catch((error: unknown) => {
        write(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
        target.exit(1);
      });
  };

  for (const signal of SIGNALS) target.on(signal, listener);
  return () => {
    for (const signal of SIGNALS) target.off(signal, listener);
  };
}
