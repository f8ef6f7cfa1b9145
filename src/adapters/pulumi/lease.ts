import * as fs from "node:fs";
import * as path from "node:path";
import { parseOwnerId, type IsDead, type OwnerId } from "../../domain/owner";

// A run holds its environment's lease in the store (src/app/environment-lease.ts) from checkout to
// record; that covers every process sharing the store. Machines sharing a file:// backend do not
// share a store, so the update itself also holds this lease file beside the backend's state.

/** tidegate's own lease on a stack, held for the whole of a sync (Pulumi's lock covers only the update). */
export interface Lease {
  readonly owner: string;
  release(): void;
}

interface LeaseFile {
  /** The holder's OwnerId (host, pid, process start time): a dead holder on this host is seen at once. */
  owner: OwnerId;
  acquiredAt: string;
  /** The holder's last renewal (its heartbeat). */
  renewedAt: string;
  expiresAt: string;
}

/** The lease folders this process holds now: one of ours not in here is a release that failed. */
const holding = new Set<string>();

/** Whether two owner ids name the same process (host, pid and start time; the suffix names a run). */
function sameProcess(a: OwnerId, b: OwnerId): boolean {
  const [x, y] = [parseOwnerId(a), parseOwnerId(b)];
  return x !== undefined && y !== undefined && x.host === y.host && x.pid === y.pid && x.start === y.start;
}

/**
 * Takes the lease `<dir>/<name>.lease` or returns undefined when another live holder has it.
 * mkdir is atomic on every filesystem tidegate supports, so two processes — or two machines on a
 * shared file backend — cannot both succeed. A holder renews the lease while it works. A lease
 * left by a holder `isDead` says is dead (on this host: its pid is gone or reused) is taken over at
 * once; any other after `ttlMs` without renewal (a holder on another host may only be slow).
 */
export function acquireLease(
  dir: string,
  name: string,
  options: { owner: OwnerId; ttlMs?: number; now?: () => number; isDead?: IsDead },
): Lease | undefined {
  const ttl = options.ttlMs ?? 120_000;
  const now = options.now ?? Date.now;
  const lockDir = path.join(dir, `${name.replace(/[^\w.-]/g, "_")}.lease`);
  fs.mkdirSync(dir, { recursive: true });
  if (!tryCreate(lockDir)) {
    const held = read(lockDir);
    // This process's own lease that it no longer holds: its release failed (a backend gone
    // read-only, say); nobody is working under it.
    const leftover = held && sameProcess(held.owner, options.owner) && !holding.has(lockDir);
    const dead = held && (leftover || (options.isDead?.(held.owner, held.renewedAt) ?? false));
    if (held && !dead && Date.parse(held.expiresAt) > now()) return undefined;
    // Dead, expired or unreadable (the holder died while writing): take it over atomically.
    const stale = `${lockDir}.stale-${process.pid}-${now()}`;
    try {
      fs.renameSync(lockDir, stale);
      fs.rmSync(stale, { recursive: true, force: true });
    } catch {
      return undefined; // someone else took it over first
    }
    if (!tryCreate(lockDir)) return undefined;
  }
  holding.add(lockDir);
  const acquiredAt = new Date(now()).toISOString();
  const write = (): void => {
    const file: LeaseFile = {
      owner: options.owner,
      acquiredAt,
      renewedAt: new Date(now()).toISOString(),
      expiresAt: new Date(now() + ttl).toISOString(),
    };
    const tmp = path.join(lockDir, `owner.json.${process.pid}`);
    fs.writeFileSync(tmp, JSON.stringify(file));
    fs.renameSync(tmp, path.join(lockDir, "owner.json"));
  };
  write();
  return renewedLease(
    options.owner,
    ttl,
    () => {
      try {
        write();
      } catch {
        // A backend gone read-only or full: the next renewal tries again; a throw here would kill the process.
      }
    },
    () => {
      holding.delete(lockDir);
      fs.rmSync(lockDir, { recursive: true, force: true });
    },
  );
}

/**
 * A lease just taken, renewed every third of its TTL (never more often than once a second) until
 * released; `renew` must not throw. Releasing it twice releases it once.
 */
export function renewedLease(owner: string, ttlMs: number, renew: () => void, release: () => void): Lease {
  const timer = setInterval(renew, Math.max(1000, ttlMs / 3));
  // A lease never keeps the process alive: its holder's work does.
  timer.unref();
  let released = false;
  return {
    owner,
    release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      release();
    },
  };
}

function tryCreate(lockDir: string): boolean {
  try {
    fs.mkdirSync(lockDir);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
}

function read(lockDir: string): LeaseFile | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(lockDir, "owner.json"), "utf8")) as LeaseFile;
  } catch {
    return undefined;
  }
}

/**
 * Where leases live: beside a file:// backend's state, so every tidegate using it sees them. Other
 * backends (s3://, Pulumi Cloud) have no folder to share: the lease is per data directory, and
 * tidegates on other hosts are kept apart by Pulumi's lock alone (a second update is refused) until
 * a shared store holds this lease.
 */
export function leaseDir(backendUrl: string, dataDir: string): string {
  return backendUrl.startsWith("file://")
    ? path.join(backendUrl.slice("file://".length), ".tidegate", "leases")
    : path.join(dataDir, "leases");
}
