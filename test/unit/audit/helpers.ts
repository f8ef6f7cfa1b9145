import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterEach } from "vitest";

import { AuditLog, type AuditLogOptions } from "../../../src/adapters/audit";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh data directory, removed after the test. */
export function tempDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-audit-"));
  dirs.push(dir);
  return dir;
}

/** A clock that moves one minute per call, from 2025-05-01T10:00Z. */
export function steppingClock(start = Date.parse("2025-05-01T10:00:00Z")): () => Date {
  let tick = 0;
  return () => new Date(start + 60_000 * tick++);
}

/** A log in a fresh data directory with `count` check entries for env "test", seq 1..count. */
export async function logWith(count: number, options: AuditLogOptions = {}): Promise<AuditLog> {
  const log = new AuditLog(path.join(tempDataDir(), "audit.jsonl"), { now: steppingClock(), ...options });
  for (let i = 1; i <= count; i++) {
    await log.append({
      actor: "ada@example.com",
      action: "check",
      environment: "test",
      reason: `check ${i}`,
    });
  }
  return log;
}

export function readLines(file: string): string[] {
  return fs.readFileSync(file, "utf8").split("\n").slice(0, -1);
}

export function writeLines(file: string, lines: readonly string[]): void {
  fs.writeFileSync(file, lines.map((line) => `${line}\n`).join(""));
}
