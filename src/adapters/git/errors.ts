import { type ErrorKind, TidegateError } from "../../domain/errors";

/**
 * Typed Git failures. Every message, `stderr` and `cause` is already redacted: a repository URL's
 * credentials never reach an error, so callers may log these as they are.
 */
export interface GitErrorDetails {
  cause?: unknown;
  /** What it means to the caller; default `internal` for a local Git failure tidegate cannot name. */
  kind?: ErrorKind;
  recovery?: string;
  /** The Git command line, redacted, e.g. ["fetch", "--prune", "https://***@host/x.git", "..."]. */
  command?: string[];
  exitCode?: number;
  /** Git's standard error, redacted. */
  stderr?: string;
}

export class GitError extends TidegateError {
  readonly command?: string[];
  readonly exitCode?: number;
  readonly stderr?: string;

  constructor(message: string, details: GitErrorDetails = {}) {
    super(details.kind ?? "internal", message, {
      ...(details.cause === undefined ? {} : { cause: details.cause }),
      ...(details.recovery === undefined ? {} : { recovery: details.recovery }),
    });
    this.name = "GitError";
    this.command = details.command;
    this.exitCode = details.exitCode;
    this.stderr = details.stderr;
  }
}

/** The branch does not exist on the remote (never created, or deleted). */
export class BranchNotFoundError extends GitError {
  constructor(
    readonly branch: string,
    details: GitErrorDetails = {},
  ) {
    super(`branch "${branch}" not found on the remote`, {
      kind: "not-found",
      recovery: `push the branch "${branch}", or change the environment's branch.`,
      ...details,
    });
    this.name = "BranchNotFoundError";
  }
}

/**
 * The commit is not in the repository, or (when `branch` is set) not on that branch any more, as
 * after a force-push that rewrote it.
 */
export class CommitNotFoundError extends GitError {
  constructor(
    readonly sha: string,
    readonly branch?: string,
    details: GitErrorDetails = {},
  ) {
    super(
      branch === undefined
        ? `commit ${sha} not found on the remote`
        : `commit ${sha} is not on branch "${branch}" (was the branch rewritten?)`,
      { kind: "not-found", ...details },
    );
    this.name = "CommitNotFoundError";
  }
}

/** A branch name, commit sha or repository path the adapter refuses before running Git. */
export class GitInputError extends GitError {
  constructor(
    readonly what: "branch" | "commit" | "path" | "url" | "identity" | "message",
    readonly value: string,
    expected: string,
  ) {
    super(`invalid ${what} "${value}": expected ${expected}`, { kind: "invalid" });
    this.name = "GitInputError";
  }
}

/**
 * The remote refused a push; nothing was pushed. `moved`: the branch moved on the remote meanwhile,
 * so the pushed commit no longer descends from its head (tidegate never forces a push); otherwise
 * the remote itself said no (a hook or a branch protection rule), with its reason.
 */
export class PushRejectedError extends GitError {
  constructor(
    readonly branch: string,
    /** Git's summary, e.g. "non-fast-forward", "fetch first", "pre-receive hook declined". */
    readonly reason: string,
    readonly moved: boolean,
    details: GitErrorDetails = {},
  ) {
    super(
      moved
        ? `push to branch "${branch}" rejected: the branch moved on the remote meanwhile (${reason}); nothing was pushed, and tidegate never forces a push`
        : `the remote refused the push to branch "${branch}" (${reason}); nothing was pushed`,
      {
        kind: moved ? "conflict" : "refused",
        recovery: moved
          ? "run the command again: it starts from the branch as it is now."
          : "see the remote's reason (a hook or a branch protection rule); nothing was pushed.",
        ...details,
      },
    );
    this.name = "PushRejectedError";
  }
}

/**
 * The remote refused the credentials tidegate gave it (or asked for some when none were given).
 * `remote` is the URL with its credentials masked.
 */
export class AuthenticationError extends GitError {
  constructor(
    readonly remote: string,
    details: GitErrorDetails = {},
  ) {
    super(
      `authentication to ${remote} failed: the remote refused the credentials (check the token in repository.url, repository.tokenEnv or repository.tokenFile, and that it may read the repository)`,
      {
        kind: "unauthorized",
        recovery: "give tidegate a token the remote accepts (repository.tokenEnv or repository.tokenFile).",
        ...details,
      },
    );
    this.name = "AuthenticationError";
  }
}

/** The configured token could not be read (variable unset, file missing or empty); Git was not run. */
export class GitCredentialsError extends GitError {
  constructor(message: string) {
    super(message, {
      kind: "unauthorized",
      recovery: "set the variable or file that repository.tokenEnv or repository.tokenFile names.",
    });
    this.name = "GitCredentialsError";
  }
}

/** A Git command that talks to the remote. */
export type RemoteOperation = "ls-remote" | "fetch" | "push";

/**
 * Which limit stopped a Git call: `connect` (no connection, or no ssh banner, in time), `no-answer`
 * (Git printed nothing at all in connect + lowSpeed: e.g. a TLS handshake that never ends), `low-speed`
 * (connected, but the remote sent next to nothing for too long) or `deadline` (the whole call took
 * too long; tidegate stopped Git and everything it started).
 */
export type GitTimeoutLimit = "connect" | "no-answer" | "low-speed" | "deadline";

const TIMEOUT_SETTING: Record<GitTimeoutLimit, (operation: RemoteOperation) => string> = {
  connect: () => "repository.timeouts.connect",
  "no-answer": () => "repository.timeouts.connect + lowSpeed",
  "low-speed": () => "repository.timeouts.lowSpeed",
  deadline: (operation) => `repository.timeouts.${operation === "ls-remote" ? "lsRemote" : "operation"}`,
};

/**
 * A Git call to the remote went past one of tidegate's limits and was stopped; nothing it fetched
 * half-way is used (Git only moves a ref once its objects are complete). `remote` is the URL with
 * credentials masked; `setting` is the tidegate.yaml key of the limit.
 */
export class GitTimeoutError extends GitError {
  readonly setting: string;

  constructor(
    readonly operation: RemoteOperation,
    readonly remote: string,
    readonly limit: GitTimeoutLimit,
    /** The limit's value, as configured. */
    readonly limitText: string,
    /** What happened, e.g. "the remote accepted the connection but sent nothing for 60s". */
    what: string,
    details: GitErrorDetails = {},
  ) {
    const setting = TIMEOUT_SETTING[limit](operation);
    super(
      `git ${operation} ${operation === "push" ? "to" : "from"} ${remote} timed out: ${what} (${setting}: ${limitText}). ${TIMEOUT_ADVICE[limit]}`,
      { kind: "timeout", ...details },
    );
    this.name = "GitTimeoutError";
    this.setting = setting;
  }
}

const TIMEOUT_ADVICE: Record<GitTimeoutLimit, string> = {
  connect:
    "Check the host name and port, that the Git server is up, and any proxy or firewall on the way; the next poll or command tries again.",
  "no-answer":
    "Check the host name and port, that the Git server is up and speaks Git over this protocol (TLS for https), and any proxy or firewall on the way; the next poll or command tries again.",
  "low-speed":
    "Check the Git server, and any proxy or firewall on the way that may hold the connection open without passing data; the next poll or command tries again.",
  deadline:
    "Check the Git server, proxy or firewall; a very large repository may need a longer limit. Git was stopped with everything it started, nothing half-transferred is used, and the next poll or command tries again.",
};

/**
 * The remote (or something on the way) closed the connection before a Git call finished. Nothing
 * half-fetched is used: Git moves a ref only once its objects are complete.
 */
export class RemoteClosedError extends GitError {
  constructor(
    readonly operation: RemoteOperation,
    readonly remote: string,
    details: GitErrorDetails = {},
  ) {
    super(
      `git ${operation} ${operation === "push" ? "to" : "from"} ${remote} failed: the remote closed the connection before the transfer finished. Check the Git server's logs, and any proxy or load balancer's time or size limits; the mirror keeps what it had, and the next poll or command tries again.`,
      { kind: "unavailable", ...details },
    );
    this.name = "RemoteClosedError";
  }
}
