// What the use cases refuse with; each entry point turns them into its own answer (the CLI a line
// on stderr, the HTTP API a status).

/** A name that is not a configured environment. */
export class UnknownEnvironmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnknownEnvironmentError";
  }
}

/** Something asked for that is not there (a report, a run). */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotFoundError";
  }
}
