// What the use cases refuse with; each entry point turns them into its own answer (the CLI a line
// on stderr, the HTTP API a status). Both name only what the caller asked for: safe to show remotely.

import { TidegateError } from "../domain/errors";

/** A name that is not a configured environment. */
export class UnknownEnvironmentError extends TidegateError {
  constructor(message: string) {
    super("not-found", message, {
      remoteSafe: true,
      recovery: "name a configured environment; `tidegate status` lists them.",
    });
    this.name = "UnknownEnvironmentError";
  }
}

/** Something asked for that is not there (a report, a run). */
export class NotFoundError extends TidegateError {
  constructor(message: string) {
    super("not-found", message, { remoteSafe: true });
    this.name = "NotFoundError";
  }
}

/** An environment of several stacks asked for one stack it does not have, or for none. */
export class StackChoiceError extends TidegateError {
  constructor(message: string) {
    super("invalid", message, {
      remoteSafe: true,
      recovery: "name one of the environment's stacks with --stack <name>",
    });
    this.name = "StackChoiceError";
  }
}
