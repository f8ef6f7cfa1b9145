import * as fs from "node:fs";

// The files behind an audit log: the JSON Lines file itself, its head anchor and its lock. Reading
// never creates anything; writing is the AuditLog's, under the lock.

/**
 * The last entry's seq and hash, kept beside the log and rewritten on every append. A chain cannot
 * show that entries were cut off its end; the anchor can. Whoever can rewrite both the log and the
 * anchor can only be caught by a copy of the head hash kept elsewhere (`tidegate audit head`).
 */
export interface HeadAnchor {
  seq: number;
  hash: string;
  time: string;
}

export type AnchorRead =
  { kind: "missing" } | { kind: "ok"; anchor: HeadAnchor } | { kind: "bad"; problem: string };

/** `<dir>/audit.jsonl` → `<dir>/audit.head.json` (any other name: `<file>.head.json`). */
export function headFileOf(file: string): string {
  return file.endsWith(".jsonl") ? `${file.slice(0, -".jsonl".length)}.head.json` : `${file}.head.json`;
}

export function lockDirOf(file: string): string {
  return `${file}.lock`;
}

export function readAnchor(headFile: string): AnchorRead {
  let text: string;
  try {
    text = fs.readFileSync(headFile, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { kind: "missing" };
    return { kind: "bad", problem: `cannot read ${headFile}: ${(error as Error).message}` };
  }
  try {
    const data = JSON.parse(text) as Partial<HeadAnchor>;
    if (
      !Number.isInteger(data.seq) ||
      (data.seq as number) < 0 ||
      typeof data.hash !== "string" ||
      !/^[0-9a-f]{64}$/.test(data.hash)
    ) {
      return { kind: "bad", problem: `${headFile} is not a head anchor: expected { seq, hash }` };
    }
    return {
      kind: "ok",
      anchor: { seq: data.seq as number, hash: data.hash, time: String(data.time ?? "") },
    };
  } catch (error) {
    return { kind: "bad", problem: `${headFile} is not valid JSON (${(error as Error).message})` };
  }
}

/** Replaces the anchor atomically (write aside, fsync, rename): a crash leaves the old or the new. */
export function writeAnchor(headFile: string, anchor: HeadAnchor): void {
  const temp = `${headFile}.tmp-${process.pid}`;
  const fd = fs.openSync(temp, "w");
  try {
    fs.writeSync(fd, `${JSON.stringify(anchor)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, headFile);
}

/** The whole log as lines; a missing file is an empty log. The final newline ends a line. */
export function readLines(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

export interface Tail {
  /** The last line, without its newline; undefined for an empty or missing file. */
  line?: string;
  /** Whether the file ends with a newline (a torn write may leave it without). */
  endsWithNewline: boolean;
}

const CHUNK = 64 * 1024;

/** The last line of the file, read backwards from its end: an append costs the same at any length. */
export function readTail(file: string): Tail {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { endsWithNewline: true };
    throw error;
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size === 0) return { endsWithNewline: true };
    let buffer: Buffer = Buffer.alloc(0);
    let position = size;
    let endsWithNewline: boolean | undefined;
    while (position > 0) {
      const length = Math.min(CHUNK, position);
      position -= length;
      const part = Buffer.alloc(length);
      fs.readSync(fd, part, 0, length, position);
      buffer = Buffer.concat([part, buffer]);
      endsWithNewline ??= buffer[buffer.length - 1] === 0x0a;
      const end = buffer.length - (endsWithNewline ? 1 : 0);
      const start = end === 0 ? -1 : buffer.lastIndexOf(0x0a, end - 1);
      if (start >= 0) return { line: buffer.subarray(start + 1, end).toString("utf8"), endsWithNewline };
    }
    const end = buffer.length - (endsWithNewline ? 1 : 0);
    return { line: buffer.subarray(0, end).toString("utf8"), endsWithNewline: endsWithNewline ?? true };
  } finally {
    fs.closeSync(fd);
  }
}

/** Appends `text` and flushes it to disk before returning. */
export function appendDurably(file: string, text: string): void {
  const fd = fs.openSync(file, "a", 0o600);
  try {
    const data = Buffer.from(text, "utf8");
    let written = 0;
    while (written < data.length) written += fs.writeSync(fd, data, written, data.length - written);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
