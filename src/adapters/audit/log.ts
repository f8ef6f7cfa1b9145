import * as fs from "node:fs";
import * as path from "node:path";

import { TidegateError } from "../../domain/errors";
import { type AuditFilter, nextEntry, redactorOf, selectEntries, storedContent } from "./content";
import { type AuditEntry, type AuditInput, formatLine, parseLine } from "./entry";
import { appendDurably, headFileOf, lockDirOf, readAnchor, readLines, readTail, writeAnchor } from "./files";
import { type LockOptions, withLock } from "./lock";
import { chainHead, verifyLines, type VerifyResult } from "./verify";

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
    this.redact = redactorOf(options.redact);
    this.lockOptions = options.lock ?? {};
  }

  /**
   * Records one entry and returns it as written (seq, time, prev and hash filled in). Safe across
   * processes. The entry is on disk before the returned promise exists (the work is synchronous), so
   * appends keep the order they are called in. Rejects with AuditLogError, writing nothing, when the
   * log's end is damaged or does not match its head anchor: a new entry must not paper over a cut or
   * an edit.
   */
  async append(input: AuditInput): Promise<AuditEntry> {
    const content = storedContent(input, this.redact);
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    return withLock(
      this.lockDir,
      () => {
        const tail = readTail(this.file);
        const head = chainHead(tail.line, readAnchor(this.headFile), path.basename(this.headFile));
        if (!head.ok) throw new AuditLogError(this.file, head.problem);
        const entry = nextEntry(head.last, content, this.now());
        // A line cut short before its newline (a crash) must not swallow the new one.
        appendDurably(this.file, `${tail.endsWithNewline ? "" : "\n"}${formatLine(entry)}`);
        writeAnchor(this.headFile, { seq: entry.seq, hash: entry.hash, time: entry.time });
        return entry;
      },
      this.lockOptions,
    );
  }

  /** The entries that match, oldest first. Lines that are not entries are skipped: `verify` names them. */
  async entries(filter: AuditFilter = {}): Promise<AuditEntry[]> {
    const all = readLines(this.file).flatMap((line) => {
      const parsed = parseLine(line);
      return parsed.ok ? [parsed.entry] : [];
    });
    return selectEntries(all, filter);
  }

  /** Checks every entry and the head anchor; names the first thing wrong. */
  async verify(): Promise<VerifyResult> {
    return verifyLines(readLines(this.file), readAnchor(this.headFile), path.basename(this.headFile));
  }
}
