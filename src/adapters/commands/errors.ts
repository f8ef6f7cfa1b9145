import { TidegateError } from "../../domain/errors";

/** Why a check command produced no result. A command that ran and failed is a result, not an error. */
export type GateCommandErrorKind =
  /** The command could not be started (no such folder, no shell) or its definition is unusable. */
  | "cannot-start"
  /** The caller's AbortSignal fired; the command's process group was stopped. */
  | "aborted";

export class GateCommandError extends TidegateError {
  constructor(
    /** Why, in the command runner's terms; `kind` is what it means to the caller. */
    readonly problem: GateCommandErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(problem === "aborted" ? "interrupted" : "invalid", message, {
      ...options,
      recovery:
        problem === "aborted"
          ? "the command was stopped; the next check runs it again."
          : "fix the gate command's definition (its folder and command line) in the environment file.",
    });
    this.name = "GateCommandError";
  }
}
