import { redactUrlsIn } from "../../config/url";
import { type AuditAction, AuditEntry, type AuditInput, entryHash, GENESIS_HASH } from "./entry";

// What every audit log does the same way, whatever holds its entries: what is stored of an input
// (redacted, plain JSON), the next entry of a chain, and which entries a filter selects. Pure.

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

export type StoredContent = Omit<AuditInput, "details"> & { details?: Record<string, unknown> };

/** URL credentials are always stripped; `redact` (the secrets known) applies after. */
export function redactorOf(redact: ((text: string) => string) | undefined): (text: string) => string {
  return redact ? (text) => redact(redactUrlsIn(text)) : redactUrlsIn;
}

/** The input as stored: redacted, and plain JSON (what is hashed is exactly what is read back). */
export function storedContent(input: AuditInput, redact: (text: string) => string): StoredContent {
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
    ...(reason === undefined ? {} : { reason: redact(reason) }),
    ...(plain === undefined ? {} : { details: redactStrings(plain, redact) as Record<string, unknown> }),
  };
}

/** The entry that follows `last` (undefined: the first one), hashed and checked to read back. */
export function nextEntry(last: AuditEntry | undefined, content: StoredContent, time: Date): AuditEntry {
  const unhashed = {
    seq: (last?.seq ?? 0) + 1,
    time: time.toISOString(),
    ...content,
    prev: last?.hash ?? GENESIS_HASH,
  };
  return checked({ ...unhashed, hash: entryHash(unhashed) });
}

/** The entries `filter` selects, oldest first (`all` is in chain order). */
export function selectEntries(all: readonly AuditEntry[], filter: AuditFilter): AuditEntry[] {
  const matching = all.filter((entry) => matches(entry, filter));
  return filter.limit === undefined ? matching : matching.slice(Math.max(0, matching.length - filter.limit));
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
