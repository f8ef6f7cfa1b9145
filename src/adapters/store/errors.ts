import { type ErrorKind, TidegateError } from "../../domain/errors";

/** What went wrong in the store. Callers switch on `problem` (or `kind`), never on the message. */
export type StoreErrorKind =
  /** The file was written by a newer tidegate (its schema version is ahead of this code). */
  | "newer-schema"
  /** Opened only to read, the shared store's schema is behind this code: reading does not migrate it. */
  | "older-schema"
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
  | "full"
  /** The store's server (PostgreSQL) cannot be reached or refused the connection. */
  | "unavailable";

const KIND: Record<StoreErrorKind, ErrorKind> = {
  "newer-schema": "invalid",
  "older-schema": "unavailable",
  "not-found": "not-found",
  conflict: "conflict",
  "invalid-input": "invalid",
  corrupt: "internal",
  busy: "conflict",
  full: "unavailable",
  unavailable: "unavailable",
};

const RECOVERY: Partial<Record<StoreErrorKind, string>> = {
  "newer-schema": "run the tidegate version that wrote the data directory, or a newer one.",
  "older-schema":
    "start `tidegate run` of this version (a replica brings the shared schema up to date), or read with the version the replicas run.",
  corrupt: "restore the data directory's database from a backup, or move it away to start afresh.",
  busy: "another tidegate process holds the store; wait for it, or stop it.",
  full: "free space on the data directory's disk; the next run writes again.",
  unavailable: "check that the store's server is up and that store.url and store.password are right.",
};

export class StoreError extends TidegateError {
  constructor(
    /** What went wrong, in the store's terms; `kind` is what it means to the caller. */
    readonly problem: StoreErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(KIND[problem], message, { ...options, recovery: RECOVERY[problem] });
    this.name = "StoreError";
  }
}

/** A store whose schema version is ahead of the `known` migrations of this code. */
export function newerSchemaError(current: number, known: number): StoreError {
  return new StoreError(
    "newer-schema",
    `the store was written by a newer tidegate (schema version ${current}; this one knows up to ${known}): upgrade tidegate`,
  );
}
