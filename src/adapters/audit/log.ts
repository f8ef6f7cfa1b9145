import * as fs from "node:fs";
import * as path from "node:path";

import { redactUrlsIn } from "../../config/url";
import { TidegateError } from "../../domain/errors";
import {
  type AuditAction,
  AuditEntry,
  type AuditInput,
  editedProblem,
  entryHash,
  formatLine,
  GENESIS_HASH,
  parseLine,
} from "./entry";
import { appendDurably, headFileOf, lockDirOf, readAnchor, readLines, readTail, writeAnchor } from "./files";
import { type LockOptions, withLock } from "./lock";
import { anchorProblem, verifyLines, type VerifyResult } from "./verify";

// The audit log: every decision tidegate takes or a person takes through it, one JSON line each,
// each line carrying the hash of the one before (a hash chain), in `<dataDir>/audit.jsonl`. Lines are
// only ever appended; nothing here rewrites or removes one. A daemon and CLI commands append to the
// same file, so each append holds a cross-process lock while it reads the tail and writes.

export interface AuditLogOptions {
  now?: () => Date;
  /** Applied to `reason` and every string in `details` (after URL credentials are stripped). */
  redact?: (text: string) => string;
  lock?: LockOptions;
}

/** Which entries to show; every given field must match. */
export interface AuditFilter {
  environment?: string;
  action?: AuditAction;
  /** Compared without regard to case (emails). */
  actor?: string;
  /** Entries at or after this time. */
  since?: Date;
  /** Entries before this time. */
  until?: Date;
  /** A commit sha or a prefix of one. */
  commit?: string;
  /** Only the newest `limit` matching entries (still oldest first). */
  limit?: number;
}

/** The log cannot be appended to as it is: appending would hide or build on damage. */
export class AuditLogError extends TidegateError {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super("internal", `cannot append to the audit log ${file}: ${problem}; nothing was written`, {
      recovery: "run `tidegate audit verify` to see the damage; restore the log from a backup.",
    });
    this.name = "AuditLogError";
  }
}

export class AuditLog {
  readonly file: string;
  /** The head anchor beside the log (`audit.head.json`). */
  readonly headFile: string;
  private readonly lockDir: string;
  private readonly now: () => Date;
  private readonly redact: (text: string) => string;
  private readonly lockOptions: LockOptions;

  constructor(file: string, options: AuditLogOptions = {}) {
    this.file = path.resolve(file);
    this.headFile = headFileOf(this.file);
    this.lockDir = lockDirOf(this.file);
    this.now = options.now ?? (() => new Date());
    const redact = options.redact;
    this.redact = redact ? (text) => redact(redactUrlsIn(text)) : redactUrlsIn;
    this.lockOptions = options.lock ?? {};
  }

  /**
   * Records one entry and returns it as written (seq, time, prev and hash filled in). Synchronous;
   * safe across processes. Throws AuditLogError, writing nothing, when the log's end is damaged or
   * does not match its head anchor: a new entry must not paper over a cut or an edit.
   */
  append(input: AuditInput): AuditEntry {
    const content = this.content(input);
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    return withLock(
      this.lockDir,
      () => {
        const tail = readTail(this.file);
        let last: AuditEntry | undefined;
        if (tail.line !== undefined) {
          const parsed = parseLine(tail.line);
          if (!parsed.ok) throw new AuditLogError(this.file, `its last line is damaged: ${parsed.problem}`);
          if (parsed.computedHash !== parsed.entry.hash) {
            throw new AuditLogError(
              this.file,
              `its last entry (seq ${parsed.entry.seq}) is damaged: ${editedProblem(parsed.entry.hash, parsed.computedHash)}`,
            );
          }
          last = parsed.entry;
        }
        const mismatch = anchorProblem(readAnchor(this.headFile), last, path.basename(this.headFile));
        if (mismatch) throw new AuditLogError(this.file, mismatch.problem);

        const unhashed = {
          seq: (last?.seq ?? 0) + 1,
          time: this.now().toISOString(),
          ...content,
          prev: last?.hash ?? GENESIS_HASH,
        };
        const entry = checked({ ...unhashed, hash: entryHash(unhashed) });
        // A line cut short before its newline (a crash) must not swallow the new one.
        appendDurably(this.file, `${tail.endsWithNewline ? "" : "\n"}${formatLine(entry)}`);
        writeAnchor(this.headFile, { seq: entry.seq, hash: entry.hash, time: entry.time });
        return entry;
      },
      this.lockOptions,
    );
  }

  /** The entries that match, oldest first. Lines that are not entries are skipped: `verify` names them. */
  entries(filter: AuditFilter = {}): AuditEntry[] {
    const all = readLines(this.file).flatMap((line) => {
      const parsed = parseLine(line);
      return parsed.ok ? [parsed.entry] : [];
    });
    const matching = all.filter((entry) => matches(entry, filter));
    return filter.limit === undefined
      ? matching
      : matching.slice(Math.max(0, matching.length - filter.limit));
  }

  /** Checks every entry and the head anchor; names the first thing wrong. */
  verify(): VerifyResult {
    return verifyLines(readLines(this.file), readAnchor(this.headFile), path.basename(this.headFile));
  }

  /** The input as stored: redacted, and plain JSON (what is hashed is exactly what is read back). */
  private content(input: AuditInput): Omit<AuditInput, "details"> & { details?: Record<string, unknown> } {
    const { details, reason, ...rest } = input;
    let plain: Record<string, unknown> | undefined;
    if (details !== undefined) {
      try {
        plain = JSON.parse(JSON.stringify(details)) as Record<string, unknown>;
      } catch (error) {
        throw new Error(`audit entry details must be plain JSON: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
    return {
      ...rest,
      ...(reason === undefined ? {} : { reason: this.redact(reason) }),
      ...(plain === undefined
        ? {}
        : { details: redactStrings(plain, this.redact) as Record<string, unknown> }),
    };
  }
}

/** The entry as it will be read back, or an error naming the field that would not read back. */
function checked(entry: Record<string, unknown>): AuditEntry {
  const result = AuditEntry.safeParse(entry);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.map(String).join(".") || "entry";
  throw new Error(`audit entry ${field}: ${issue?.message ?? "invalid"}`);
}

function redactStrings(value: unknown, redact: (text: string) => string): unknown {
  if (typeof value === "string") return redact(value);
  if (Array.isArray(value)) return value.map((item) => redactStrings(item, redact));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactStrings(item, redact)]));
  }
  return value;
}

function matches(entry: AuditEntry, filter: AuditFilter): boolean {
  if (filter.environment !== undefined && entry.environment !== filter.environment) return false;
  if (filter.action !== undefined && entry.action !== filter.action) return false;
  if (filter.actor !== undefined && entry.actor.toLowerCase() !== filter.actor.toLowerCase()) return false;
  if (
    filter.commit !== undefined &&
    !(entry.commit ?? "").toLowerCase().startsWith(filter.commit.toLowerCase())
  ) {
    return false;
  }
  const time = Date.parse(entry.time);
  if (filter.since !== undefined && !(time >= filter.since.getTime())) return false;
  if (filter.until !== undefined && !(time < filter.until.getTime())) return false;
  return true;
}
