import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { describe, expect, it } from "vitest";

import { LockTimeoutError, withLock } from "../../../src/adapters/audit/lock";
import { tempDataDir } from "./helpers";

function holdLock(lockDir: string, pid: number, ageMs = 0): void {
  fs.mkdirSync(lockDir);
  const owner = { pid, host: os.hostname(), token: "someone-else", since: "2025-05-01T10:00:00.000Z" };
  fs.writeFileSync(path.join(lockDir, "owner.json"), JSON.stringify(owner));
  if (ageMs > 0) {
    const then = new Date(Date.now() - ageMs);
    fs.utimesSync(lockDir, then, then);
  }
}

/** The pid of a process that has exited. */
function deadPid(): number {
  return Number(execFileSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]));
}

describe("withLock", () => {
  it("runs the function, returns its result and releases the lock", () => {
    const lockDir = path.join(tempDataDir(), "x.lock");
    expect(withLock(lockDir, () => fs.existsSync(lockDir))).toBe(true);
    expect(fs.existsSync(lockDir)).toBe(false);
  });

  it("releases the lock when the function throws", () => {
    const lockDir = path.join(tempDataDir(), "x.lock");
    expect(() =>
      withLock(lockDir, () => {
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(fs.existsSync(lockDir)).toBe(false);
  });

  it("times out on a lock a live process holds, naming it", () => {
    const lockDir = path.join(tempDataDir(), "x.lock");
    holdLock(lockDir, process.pid);
    expect(() => withLock(lockDir, () => 1, { timeoutMs: 50 })).toThrow(LockTimeoutError);
    expect(() => withLock(lockDir, () => 1, { timeoutMs: 50 })).toThrow(`held by pid ${process.pid}`);
    expect(fs.existsSync(lockDir)).toBe(true);
  });

  it("takes over a lock whose holder on this host is dead", () => {
    const lockDir = path.join(tempDataDir(), "x.lock");
    holdLock(lockDir, deadPid());
    expect(withLock(lockDir, () => "ran", { timeoutMs: 1_000 })).toBe("ran");
    expect(fs.existsSync(lockDir)).toBe(false);
  });

  it("takes over a lock older than the stale limit, even from a live process", () => {
    const lockDir = path.join(tempDataDir(), "x.lock");
    holdLock(lockDir, process.pid, 60_000);
    expect(withLock(lockDir, () => "ran", { timeoutMs: 1_000, staleMs: 30_000 })).toBe("ran");
    expect(fs.readdirSync(path.dirname(lockDir))).toEqual([]);
  });

  it("does not remove a lock taken over from it", () => {
    const lockDir = path.join(tempDataDir(), "x.lock");
    withLock(lockDir, () => {
      fs.rmSync(lockDir, { recursive: true });
      holdLock(lockDir, process.pid);
    });
    expect(fs.existsSync(lockDir)).toBe(true);
  });
});
