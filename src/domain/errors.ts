// One error base for everything tidegate refuses or fails with. Each entry point derives its answer
// from the kind alone: the CLI's exit code, the HTTP API's status, the report's and the status
// line's error. Adapters keep their own subclasses (they know the words of Git, Pulumi, npm), but
// every one of them says which kind it is, what the person should do, and whether its message may
// be shown to a caller outside this machine.

/**
 * What kind of failure, from the caller's point of view (not from the adapter's):
 * - `invalid`: the input is wrong (a config file, a stack file, an argument); fix it and retry.
 * - `not-found`: the thing named is not there (an environment, a run, a branch).
 * - `conflict`: someone else holds it or changed it first (a lease, Pulumi's lock, a push race).
 * - `refused`: a gate or a rule said no; nothing is wrong, but nothing happens.
 * - `unauthorized`: credentials are missing or wrong (Git, a backend, a passphrase).
 * - `unavailable`: something outside did not answer or broke off (a remote, a backend, a registry).
 * - `timeout`: something outside took longer than its deadline.
 * - `interrupted`: a run was cut short (a crash, a kill, a cancel) and may have left work pending.
 * - `internal`: a defect in tidegate, or a failure it cannot classify.
 */
export type ErrorKind =
  | "invalid"
  | "not-found"
  | "conflict"
  | "refused"
  | "unauthorized"
  | "unavailable"
  | "timeout"
  | "interrupted"
  | "internal";

export interface TidegateErrorOptions {
  /** What the person should do, in one sentence (a command to run, a file to fix). */
  recovery?: string;
  /**
   * Whether the message may be shown to a caller outside this machine (an HTTP client, a
   * notification). False for messages that name local paths, hosts or command output.
   */
  remoteSafe?: boolean;
  cause?: unknown;
}

/** The base of tidegate's own errors: a kind, an optional recovery step, and who may read it. */
export class TidegateError extends Error {
  readonly recovery: string | undefined;
  readonly remoteSafe: boolean;

  constructor(
    readonly kind: ErrorKind,
    message: string,
    options: TidegateErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TidegateError";
    this.recovery = options.recovery;
    this.remoteSafe = options.remoteSafe ?? false;
  }
}

export function isTidegateError(error: unknown): error is TidegateError {
  return error instanceof TidegateError;
}

/** The kind of any thrown value: tidegate's own say theirs; anything else is `internal`. */
export function errorKind(error: unknown): ErrorKind {
  return isTidegateError(error) ? error.kind : "internal";
}

/**
 * The CLI's exit code for a kind. 0 ok, 1 failure, 2 usage and 3 (`check --exit-code`: out of sync
 * or drifted, not an error) keep their meanings; each other kind has its own code a script may test.
 */
export const EXIT_CODES: Record<ErrorKind, number> = {
  invalid: 4,
  "not-found": 5,
  conflict: 6,
  refused: 7,
  unauthorized: 8,
  unavailable: 9,
  timeout: 10,
  interrupted: 11,
  internal: 1,
};

/** The HTTP status the API answers a kind with. */
export const HTTP_STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  "not-found": 404,
  conflict: 409,
  refused: 403,
  unauthorized: 401,
  unavailable: 503,
  timeout: 504,
  interrupted: 409,
  internal: 500,
};

/** A run's or a report's error, as stored and shown: the same three fields everywhere. */
export interface ErrorRecord {
  kind: string;
  message: string;
  recovery?: string;
}

/**
 * The record of any thrown value. An error that is not tidegate's keeps its message (secrets are
 * masked by the sinks), with kind `internal`.
 */
export function errorRecord(error: unknown): ErrorRecord {
  const message = error instanceof Error ? error.message : String(error);
  if (!isTidegateError(error)) return { kind: "internal", message };
  return { kind: error.kind, message, ...(error.recovery ? { recovery: error.recovery } : {}) };
}

/** At most this many characters of a message reach a status line; the run record keeps it whole. */
const MAX_LINE_MESSAGE = 400;

/**
 * A failure as one line: the status reason, the report's reason and the audit entry all carry this
 * line, so a person reads the same words wherever they look. `message — what to do: recovery`,
 * the message's lines joined with "; ".
 */
export function errorLine(record: ErrorRecord): string {
  const joined = record.message
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .join("; ");
  const message = joined.length > MAX_LINE_MESSAGE ? `${joined.slice(0, MAX_LINE_MESSAGE - 1)}…` : joined;
  return record.recovery ? `${message} — what to do: ${record.recovery}` : message;
}

/** What a remote caller may see of an error: its message when safe, else only its kind. */
export function remoteMessage(error: unknown): string {
  if (isTidegateError(error) && error.remoteSafe) return error.message;
  return `${errorKind(error)} error (details are in tidegate's log)`;
}
