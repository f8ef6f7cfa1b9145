import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isProcessAlive } from "../pid";
import { TidegateError } from "../../domain/errors";

// A synchronous, cross-process lock: a directory that only one process can create (mkdir is atomic
// on local file systems). The holder writes who it is inside; a waiter takes over a lock whose
// holder is a dead process on this host, or one older than `staleMs` (a holder on another host that
// crashed). The critical sections it guards take milliseconds, so the stale limit is generous.

export interface LockOptions {
  /** Give up after this long. Default 10 s. */
  timeoutMs?: number;
  /** A lock held longer than this is taken over. Default 30 s. */
  staleMs?: number;
  /** Pause between attempts. Default 5 ms. */
  retryMs?: number;
}

interface Owner {
  pid: number;
  host: string;
  token: string;
  since: string;
}

const OWNER_FILE = "owner.json";

/** The lock could not be taken in time: names the lock and who holds it. */
export class LockTimeoutError extends TidegateError {
  constructor(
    readonly lockDir: string,
    holder: string,
  ) {
    super("conflict", `could not lock ${lockDir}: held by ${holder}`, {
      recovery: `wait for the holder; if no tidegate process is running, remove ${lockDir}.`,
    });
    this.name = "LockTimeoutError";
  }
}

/** Runs `run` while holding the lock `lockDir` (its parent folder must exist). */
export function withLock<T>(lockDir: string, run: () => T, options: LockOptions = {}): T {
  const token = acquire(lockDir, options);
  try {
    return run();
  } finally {
    release(lockDir, token);
  }
}

function acquire(lockDir: string, options: LockOptions): string {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const staleMs = options.staleMs ?? 30_000;
  const retryMs = options.retryMs ?? 5;
  const token = randomUUID();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (created(lockDir)) {
      const owner: Owner = { pid: process.pid, host: os.hostname(), token, since: new Date().toISOString() };
      try {
        fs.writeFileSync(path.join(lockDir, OWNER_FILE), JSON.stringify(owner));
      } catch (error) {
        // A full disk: a lock without an owner would hold off every writer until it is stale.
        fs.rmSync(lockDir, { recursive: true, force: true });
        throw error;
      }
      return token;
    }
    const held = inspect(lockDir);
    if (held && isStale(held, staleMs)) {
      takeOver(lockDir, held.owner?.token);
      continue;
    }
    if (Date.now() >= deadline) throw new LockTimeoutError(lockDir, describe(held?.owner));
    sleep(retryMs);
  }
}

/** Whether we created the lock folder; false when it exists already. */
function created(lockDir: string): boolean {
  try {
    fs.mkdirSync(lockDir);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    return false;
  }
}

function release(lockDir: string, token: string): void {
  // Only our own lock: if it was taken over as stale, it now belongs to someone else.
  if (readOwner(lockDir)?.token !== token) return;
  fs.rmSync(lockDir, { recursive: true, force: true });
}

interface Held {
  owner?: Owner;
  ageMs: number;
}

/** The lock as it is now; undefined when it has just been released. */
function inspect(lockDir: string): Held | undefined {
  let mtimeMs: number;
  try {
    mtimeMs = fs.statSync(lockDir).mtimeMs;
  } catch {
    return undefined;
  }
  const owner = readOwner(lockDir);
  return { ...(owner ? { owner } : {}), ageMs: Date.now() - mtimeMs };
}

function isStale(held: Held, staleMs: number): boolean {
  if (held.ageMs > staleMs) return true;
  const owner = held.owner;
  // Without an owner file the holder is between mkdir and writing it: only age makes it stale.
  return owner !== undefined && owner.host === os.hostname() && !isProcessAlive(owner.pid);
}

/**
 * Moves the stale lock aside (rename is atomic) and removes it. When what was moved is not the lock
 * judged stale (another waiter took over first and a new holder is in), it is put back.
 */
function takeOver(lockDir: string, staleToken: string | undefined): void {
  const aside = `${lockDir}.stale-${process.pid}-${randomUUID()}`;
  try {
    fs.renameSync(lockDir, aside);
  } catch {
    return; // Gone already: someone else took it over or it was released.
  }
  if (readOwner(aside)?.token !== staleToken) {
    try {
      fs.renameSync(aside, lockDir);
      return;
    } catch {
      // A third process holds the lock by now; the moved one's holder will find it gone on release.
    }
  }
  fs.rmSync(aside, { recursive: true, force: true });
}

function readOwner(lockDir: string): Owner | undefined {
  try {
    const data = JSON.parse(fs.readFileSync(path.join(lockDir, OWNER_FILE), "utf8")) as Partial<Owner>;
    if (typeof data.pid !== "number" || typeof data.host !== "string" || typeof data.token !== "string") {
      return undefined;
    }
    return { pid: data.pid, host: data.host, token: data.token, since: String(data.since ?? "") };
  } catch {
    return undefined;
  }
}

function describe(owner: Owner | undefined): string {
  return owner ? `pid ${owner.pid} on ${owner.host} since ${owner.since}` : "an unknown process";
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread: `append` is synchronous by contract, and waits are a few milliseconds. */
function sleep(ms: number): void {
  Atomics.wait(pause, 0, 0, ms);
}
