import type { Context } from "hono";
import {
  type ErrorKind,
  errorKind,
  HTTP_STATUS,
  isTidegateError,
  remoteMessage,
  TidegateError,
} from "../domain/errors";

// Every error the API answers with is an application/problem+json document derived from the error's
// kind alone, as the CLI's exit code is. Only a message its thrower marked remoteSafe is shown; any
// other says its kind and that the details are in the server's log (a path, a host, a repository
// URL or command output never leaves this machine).

export const PROBLEM_TYPE = "application/problem+json";

const TITLES: Record<ErrorKind, string> = {
  invalid: "Bad request",
  "not-found": "Not found",
  conflict: "Conflict",
  refused: "Refused",
  unauthorized: "Unauthorized",
  unavailable: "Unavailable",
  timeout: "Timed out",
  interrupted: "Interrupted",
  internal: "Internal error",
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  kind: ErrorKind;
  recovery?: string;
  field?: string;
}

/** The problem document of any thrown value. */
export function problemOf(error: unknown): Problem {
  const kind = errorKind(error);
  const safe = isTidegateError(error) && error.remoteSafe;
  const recovery = safe
    ? error.recovery
    : kind === "internal"
      ? undefined
      : "see tidegate's log on the server";
  return {
    type: `urn:tidegate:problem:${kind}`,
    title: TITLES[kind],
    status: HTTP_STATUS[kind],
    detail: remoteMessage(error),
    kind,
    ...(recovery ? { recovery } : {}),
  };
}

/** A problem the API states itself (its message is its own, so safe to show), with more fields. */
export class ApiError extends TidegateError {
  constructor(
    kind: ErrorKind,
    message: string,
    recovery?: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(kind, message, { remoteSafe: true, ...(recovery ? { recovery } : {}) });
    this.name = "ApiError";
  }
}

export function apiError(
  kind: ErrorKind,
  message: string,
  recovery?: string,
  extra?: Record<string, unknown>,
): ApiError {
  return new ApiError(kind, message, recovery, extra);
}

export function problemResponse(c: Context, problem: Problem, extra: Record<string, unknown> = {}): Response {
  return c.body(JSON.stringify({ ...problem, ...extra }), problem.status as 400, {
    "content-type": PROBLEM_TYPE,
  });
}
