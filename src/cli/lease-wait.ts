import { DEFAULT_LEASE_WAIT_MS, describeHolder, type LeasePolicy } from "../app/environment-lease";
import { DURATION_FORMS, formatDuration, parseDuration } from "../gates/duration";
import { type CommandArgs, UsageError } from "./command";
import { stringOption } from "./context";

// `--wait <duration>`: how long a command waits for another tidegate process (the daemon, another
// sync) that holds the environment, saying once on stderr who holds it.

export const WAIT_HELP = `  --wait <duration>   Wait this long for another tidegate holding the environment (default ${formatDuration(DEFAULT_LEASE_WAIT_MS)}; 0: fail at once)`;

export const WAIT_OPTION = { wait: { type: "string" } } as const;

/** The bound `--wait` sets, in ms; a usage error when it is not a duration. */
export function waitOption(args: CommandArgs, command: string): number {
  const text = stringOption(args, "wait");
  if (text === undefined) return DEFAULT_LEASE_WAIT_MS;
  const ms = parseDuration(text);
  if (ms === undefined) throw new UsageError(`--wait: expected ${DURATION_FORMS}, got "${text}"`, command);
  return ms;
}

/** Waits up to `timeoutMs` for the holder of environment `name`, writing once who it is. */
export function waitForHolder(name: string, timeoutMs: number, write: (text: string) => void): LeasePolicy {
  return {
    kind: "wait",
    timeoutMs,
    onWaiting: (holder) =>
      write(`tidegate: environment ${name} is held by ${describeHolder(holder)}; waiting…\n`),
  };
}
