import { isSerializedError } from "./redact";
import { shortSha } from "../domain/commit";

/** One log line before it is written; fields are already redacted and JSON-safe. */
export interface LogEntry {
  time: Date;
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

/** Daemon mode: one JSON object per line, the fixed keys first. */
export function jsonLine(entry: LogEntry): string {
  return JSON.stringify({
    timestamp: entry.time.toISOString(),
    level: entry.level,
    message: entry.message,
    ...entry.fields,
  });
}

/** Context keys a child logger carries; the pretty format shows them in one bracket. */
const CONTEXT_KEYS = new Set(["env", "stack", "commit", "runId"]);

/**
 * CLI mode: `12:03:04 info  [test test@1a2b3c4 run=42] preview finished  pending=2 drift=0`.
 * An error's stack (present at debug level only) follows on indented lines.
 */
export function prettyLine(entry: LogEntry): string {
  const { env, stack, commit, runId } = entry.fields;
  const context = [
    present(env),
    present(stack) || present(commit) ? `${present(stack)}${commit ? `@${shortCommit(commit)}` : ""}` : "",
    present(runId) ? `run=${present(runId)}` : "",
  ].filter(Boolean);

  const parts = [clock(entry.time), entry.level.padEnd(5)];
  if (context.length > 0) parts.push(`[${context.join(" ")}]`);
  parts.push(entry.message);
  let line = parts.join(" ");

  const stacks: string[] = [];
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(entry.fields)) {
    if (CONTEXT_KEYS.has(key) || value === undefined) continue;
    pairs.push(`${key}=${compact(value)}`);
    if (isSerializedError(value) && value.stack) stacks.push(value.stack);
  }
  if (pairs.length > 0) line += `  ${pairs.join(" ")}`;
  for (const text of stacks) line += `\n${indent(text)}`;
  return line;
}

function present(value: unknown): string {
  return value === undefined || value === null ? "" : String(value);
}

function shortCommit(commit: unknown): string {
  const text = String(commit);
  return /^[0-9a-f]{8,64}$/i.test(text) ? shortSha(text) : text;
}

function clock(time: Date): string {
  return [time.getHours(), time.getMinutes(), time.getSeconds()]
    .map((n) => String(n).padStart(2, "0"))
    .join(":");
}

function compact(value: unknown): string {
  if (typeof value === "string") return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (isSerializedError(value)) {
    const text = value.message ? `${value.name}: ${value.message}` : value.name;
    return JSON.stringify(text);
  }
  if (typeof value === "object" && value !== null) return JSON.stringify(value);
  return String(value);
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `    ${line}`)
    .join("\n");
}
