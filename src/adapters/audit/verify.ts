import { type AuditEntry, editedProblem, GENESIS_HASH, parseLine, short } from "./entry";
import type { AnchorRead } from "./files";

// Walks the chain line by line and stops at the first thing wrong. Pure: the lines and the anchor
// are read by the caller.

export interface BadEntry {
  /** The entry's seq, when the line could be read that far (or the first missing seq at the end). */
  seq?: number;
  /** 1-based line in the file; one past the last line when entries are missing from the end. */
  line: number;
  problem: string;
}

/**
 * ok: every entry is intact and the log ends where its head anchor says; `head` is the last hash
 * (GENESIS_HASH for an empty log). Not ok: `entries` is how many entries before `firstBad` are
 * intact.
 */
export type VerifyResult =
  { ok: true; entries: number; head: string } | { ok: false; entries: number; firstBad: BadEntry };

/** Checks `lines` (the log's lines, in file order) and the head anchor named `anchorName`. */
export function verifyLines(lines: readonly string[], anchor: AnchorRead, anchorName: string): VerifyResult {
  let prevHash = GENESIS_HASH;
  let last: AuditEntry | undefined;
  for (const [index, text] of lines.entries()) {
    const line = index + 1;
    const expectedSeq = (last?.seq ?? 0) + 1;
    const fail = (problem: string, seq?: number): VerifyResult => ({
      ok: false,
      entries: index,
      firstBad: { ...(seq === undefined ? {} : { seq }), line, problem },
    });
    const parsed = parseLine(text);
    if (!parsed.ok) return fail(parsed.problem, parsed.seq);
    const entry = parsed.entry;
    if (parsed.computedHash !== entry.hash)
      return fail(editedProblem(entry.hash, parsed.computedHash), entry.seq);
    if (entry.seq !== expectedSeq) return fail(seqProblem(lines, index, entry.seq, expectedSeq), entry.seq);
    if (entry.prev !== prevHash) {
      const problem = last
        ? `its prev ${short(entry.prev)} is not the hash of seq ${last.seq} (${short(prevHash)}): an entry before it was replaced`
        : `its prev ${short(entry.prev)} is not the genesis value: the log does not start at its first entry`;
      return fail(problem, entry.seq);
    }
    prevHash = entry.hash;
    last = entry;
  }
  const bad = anchorProblem(anchor, last, anchorName);
  if (bad)
    return { ok: false, entries: lines.length, firstBad: { ...bad, line: bad.line ?? lines.length + 1 } };
  return { ok: true, entries: lines.length, head: prevHash };
}

/** Why seq `found` at line index+1 is not `expected`: missing, or elsewhere in the file (reordered). */
function seqProblem(lines: readonly string[], index: number, found: number, expected: number): string {
  if (found < expected) {
    return `seq ${found} comes after seq ${expected - 1}: entries are out of order or repeated`;
  }
  const elsewhere = lines.findIndex((text, i) => i > index && seqOf(text) === expected);
  if (elsewhere >= 0) {
    return `seq ${found} is where seq ${expected} belongs, and seq ${expected} is at line ${elsewhere + 1}: entries are out of order`;
  }
  const missing = found - expected === 1 ? `seq ${expected} is` : `seqs ${expected}–${found - 1} are`;
  return `seq ${found} follows seq ${expected - 1}: ${missing} missing (removed)`;
}

function seqOf(text: string): number | undefined {
  const parsed = parseLine(text);
  return parsed.ok ? parsed.entry.seq : parsed.seq;
}

/**
 * The entry a new one is chained to: the log's last line (undefined: the log is empty), once it is
 * intact and where the head anchor says the log ends; otherwise what is wrong, so nothing is appended.
 */
export function chainHead(
  lastLine: string | undefined,
  anchor: AnchorRead,
  anchorName: string,
): { ok: true; last?: AuditEntry } | { ok: false; problem: string } {
  let last: AuditEntry | undefined;
  if (lastLine !== undefined) {
    const parsed = parseLine(lastLine);
    if (!parsed.ok) return { ok: false, problem: `its last line is damaged: ${parsed.problem}` };
    if (parsed.computedHash !== parsed.entry.hash) {
      const edited = editedProblem(parsed.entry.hash, parsed.computedHash);
      return { ok: false, problem: `its last entry (seq ${parsed.entry.seq}) is damaged: ${edited}` };
    }
    last = parsed.entry;
  }
  const mismatch = anchorProblem(anchor, last, anchorName);
  if (mismatch) return { ok: false, problem: mismatch.problem };
  return last ? { ok: true, last } : { ok: true };
}

/** Whether the log ends where the anchor says. An anchor one behind is an append cut off before it. */
export function anchorProblem(
  read: AnchorRead,
  last: AuditEntry | undefined,
  anchorName: string,
): { seq?: number; line?: number; problem: string } | undefined {
  if (read.kind === "bad") return { problem: `the head anchor is unusable: ${read.problem}` };
  const lastSeq = last?.seq ?? 0;
  if (read.kind === "missing") {
    if (!last) return undefined;
    return {
      seq: lastSeq + 1,
      problem: `the head anchor ${anchorName} is missing, so entries cut off the end cannot be ruled out`,
    };
  }
  const { seq, hash } = read.anchor;
  if (seq > lastSeq) {
    const ends = last ? `ends at seq ${lastSeq}` : "is empty";
    const range = seq - lastSeq === 1 ? `seq ${seq} was` : `seqs ${lastSeq + 1}–${seq} were`;
    return {
      seq: lastSeq + 1,
      problem: `the log ${ends} but its head anchor ${anchorName} records seq ${seq}: ${range} removed from the end`,
    };
  }
  if (seq === lastSeq && hash === (last?.hash ?? GENESIS_HASH)) return undefined;
  if (last && seq === lastSeq - 1 && hash === last.prev) return undefined;
  return {
    seq: lastSeq,
    line: lastSeq === 0 ? 1 : lastSeq,
    problem: `the log ends at seq ${lastSeq} (${short(last?.hash ?? GENESIS_HASH)}) but its head anchor ${anchorName} records seq ${seq} (${short(hash)}): the log was rewritten`,
  };
}
