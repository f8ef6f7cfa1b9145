import { TidegateError } from "../../domain/errors";

// Every Pulumi CLI call tidegate makes has a deadline, and the long ones (preview, update,
// refresh) can be cancelled by a person (a second Ctrl-C). Both go through the Automation API's
// own route: an AbortSignal, on which it sends the CLI SIGINT, and the CLI stops gracefully (it
// lets the resource operations in flight finish). The wrapper (src/adapters/sandbox/wrapper.ts)
// kills a CLI that has not stopped after its grace period.

/** Deadlines of the Pulumi CLI's operations, in milliseconds. */
export interface PulumiTimeouts {
  previewMs: number;
  updateMs: number;
  refreshMs: number;
  /** Everything else: stack select/init, export, history, config. */
  stackMs: number;
}

export type PulumiOperation = "preview" | "update" | "refresh" | "stack";

const CONFIG_KEY: Record<PulumiOperation, string> = {
  preview: "timeouts.preview",
  update: "timeouts.update",
  refresh: "timeouts.refresh",
  stack: "timeouts.stack",
};

/** The operation a CLI command line performs. */
export function operationOf(args: readonly string[]): PulumiOperation {
  switch (args[0]) {
    case "preview":
      return "preview";
    case "up":
    case "destroy":
      return "update";
    case "refresh":
      return "refresh";
    default:
      return "stack";
  }
}

function deadlineOf(timeouts: PulumiTimeouts, operation: PulumiOperation): number {
  return {
    preview: timeouts.previewMs,
    update: timeouts.updateMs,
    refresh: timeouts.refreshMs,
    stack: timeouts.stackMs,
  }[operation];
}

/** What an interrupted operation left: a sentence on the stack's state, and what to do. */
export interface LeftState {
  state: string;
  recovery: string;
}

/** A Pulumi operation that outlived its deadline; it was cancelled. */
export class PulumiTimeoutError extends TidegateError {
  constructor(
    readonly operation: PulumiOperation,
    readonly subject: string,
    readonly command: string,
    readonly ms: number,
    left?: LeftState,
  ) {
    const check =
      operation === "update"
        ? `check what the program waits for (a cloud API that does not answer, a resource that never becomes ready), or raise ${CONFIG_KEY[operation]} in tidegate.yaml`
        : `check that the backend and the cloud APIs the program reads answer, or raise ${CONFIG_KEY[operation]} in tidegate.yaml`;
    super(
      "timeout",
      `${subject}: pulumi ${command} did not finish within ${formatMs(ms)} and was cancelled${left ? `; ${left.state}` : ""}`,
      { recovery: left ? `${left.recovery}; ${check}` : check },
    );
    this.name = "PulumiTimeoutError";
  }

  withState(left: LeftState): PulumiTimeoutError {
    return new PulumiTimeoutError(this.operation, this.subject, this.command, this.ms, left);
  }
}

/** A preview, update or refresh a person cancelled (a second Ctrl-C). */
export class PulumiCancelledError extends TidegateError {
  constructor(
    readonly subject: string,
    readonly command: string,
    left?: LeftState,
  ) {
    super(
      "interrupted",
      `${subject}: pulumi ${command} was cancelled on request${left ? `; ${left.state}` : ""}`,
      {
        recovery: left?.recovery ?? "run the command again when ready",
      },
    );
    this.name = "PulumiCancelledError";
  }

  withState(left: LeftState): PulumiCancelledError {
    return new PulumiCancelledError(this.subject, this.command, left);
  }
}

/**
 * Cancels the previews, updates and refreshes in flight in this process (and any started later).
 * The CLI receives SIGINT through the Automation API and stops gracefully.
 */
export class PulumiCancellation {
  private controller = new AbortController();

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get cancelled(): boolean {
    return this.controller.signal.aborted;
  }

  cancel(): void {
    this.controller.abort(new Error("cancelled on request"));
  }
}

/** The process's cancellation: the CLI's signal handling cancels through it. */
export const pulumiCancellation = new PulumiCancellation();

export type RunCommand = (
  args: string[],
  cwd: string,
  env: Record<string, string | undefined>,
  onOutput?: unknown,
  onError?: unknown,
  signal?: AbortSignal,
  ...rest: unknown[]
) => Promise<unknown>;

export interface BoundOptions {
  timeouts: PulumiTimeouts;
  /** Named in errors, e.g. "environment 'test' (stack test)". */
  subject: string;
  cancellation?: PulumiCancellation;
}

/** `run` with a deadline per operation and the process's cancellation added to its signal. */
export function boundedRun(run: RunCommand, options: BoundOptions): RunCommand {
  const cancellation = options.cancellation ?? pulumiCancellation;
  return async (args, cwd, env, onOutput, onError, signal, ...rest) => {
    const operation = operationOf(args);
    const command = args.slice(0, operation === "stack" ? 2 : 1).join(" ");
    const ms = deadlineOf(options.timeouts, operation);
    const cancellable = operation !== "stack";
    if (cancellable && cancellation.cancelled) throw new PulumiCancelledError(options.subject, command);
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error("deadline")), ms);
    const signals = [
      deadline.signal,
      ...(cancellable ? [cancellation.signal] : []),
      ...(signal ? [signal] : []),
    ];
    try {
      return await run(args, cwd, env, onOutput, onError, AbortSignal.any(signals), ...rest);
    } catch (err) {
      if (deadline.signal.aborted) throw new PulumiTimeoutError(operation, options.subject, command, ms);
      if (cancellable && cancellation.cancelled) throw new PulumiCancelledError(options.subject, command);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  };
}

function formatMs(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}
