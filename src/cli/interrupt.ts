import { pulumiCancellation } from "../adapters/pulumi/deadline";
import { FORCED_EXIT_CODE, onShutdown, type SignalTarget } from "../daemon";

// Ctrl-C in a one-shot command (`tidegate sync`, `check`, `drift`): the first lets the run finish
// (the Pulumi CLI is in a session of its own, so the terminal's interrupt does not reach it), the
// second cancels it through Pulumi's own cancellation, the third exits at once.

/** Exit code of a command a signal interrupted (128 + SIGINT), whatever the run's outcome. */
export const INTERRUPTED_EXIT_CODE = FORCED_EXIT_CODE;

export interface Interruptible<T> {
  value: T;
  /** Whether a signal arrived while the work ran. */
  interrupted: boolean;
}

/** Runs `work` (named `what` in messages, e.g. "syncing test") with the interrupt handling above. */
export async function interruptible<T>(
  what: string,
  stderr: (text: string) => void,
  work: () => Promise<T>,
  target?: SignalTarget,
): Promise<Interruptible<T>> {
  let interrupted = false;
  let running = true;
  const remove = onShutdown(
    async (signal) => {
      interrupted = true;
      stderr(
        `tidegate: ${signal}: letting ${what} finish (an update in flight is not interrupted); ${signal} again cancels it through Pulumi\n`,
      );
    },
    {
      cancel: () => pulumiCancellation.cancel(),
      running: () => (running ? [what] : []),
      write: (line) => stderr(`tidegate: ${line}\n`),
      ...(target ? { target } : {}),
    },
  );
  try {
    const value = await work();
    return { value, interrupted };
  } finally {
    running = false;
    remove();
  }
}
