/** What went wrong in the store. Callers switch on `kind`, never on the message. */
export type StoreErrorKind =
  /** The file was written by a newer tidegate (its schema version is ahead of this code). */
  | "newer-schema"
  /** The run does not exist. */
  | "not-found"
  /** The id exists already, or the run has already ended. */
  | "conflict"
  /** A bad argument (a limit that is no positive integer, a time that is no ISO 8601). */
  | "invalid-input"
  /** A stored record no longer matches its schema. */
  | "corrupt"
  /** Another process held the write lock for longer than the busy timeout. */
  | "busy"
  /** The disk under the store is full: nothing of the failed write was kept. */
  | "full";

export class StoreError extends Error {
  constructor(
    readonly kind: StoreErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "StoreError";
  }
}
