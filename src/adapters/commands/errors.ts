/** Why a check command produced no result. A command that ran and failed is a result, not an error. */
export type GateCommandErrorKind =
  /** The command could not be started (no such folder, no shell) or its definition is unusable. */
  | "cannot-start"
  /** The caller's AbortSignal fired; the command's process group was stopped. */
  | "aborted";

export class GateCommandError extends Error {
  constructor(
    readonly kind: GateCommandErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "GateCommandError";
  }
}
