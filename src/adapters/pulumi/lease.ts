import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

// The plan: the store's LeaseStore (src/adapters/store/port.ts) takes over from these lease files,
// so that replicas sharing a store share leases whatever the backend; until the failure-handling
// work moves the engine onto it, this guards file:// backends.

/** tidegate's own lease on a stack, held for the whole of a sync (Pulumi's lock covers only the update). */
export interface Lease {
  readonly owner: string;
  release(): void;
}

interface LeaseFile {
  owner: string;
  pid: number;
  host: string;
  acquiredAt: string;
  expiresAt: string;
}

/**
 * Takes the lease `<dir>/<name>.lease` or returns undefined when another live holder has it.
 * mkdir is atomic on every filesystem tidegate supports, so two processes — or two machines on a
 * shared file backend — cannot both succeed. A holder renews the lease while it works; a lease
 * left by a crashed holder expires after `ttlMs` and may then be taken over.
 */
export function acquireLease(
  dir: string,
  name: string,
  options: { owner: string; ttlMs?: number; now?: () => number },
): Lease | undefined {
  const ttl = options.ttlMs ?? 120_000;
  const now = options.now ?? Date.now;
  const lockDir = path.join(dir, `${name.replace(/[^\w.-]/g, "_")}.lease`);
  fs.mkdirSync(dir, { recursive: true });
  if (!tryCreate(lockDir)) {
    const held = read(lockDir);
    if (held && Date.parse(held.expiresAt) > now()) return undefined;
    // Expired (or unreadable, i.e. the holder died while writing): take it over atomically.
    const stale = `${lockDir}.stale-${process.pid}-${now()}`;
    try {
      fs.renameSync(lockDir, stale);
      fs.rmSync(stale, { recursive: true, force: true });
    } catch {
      return undefined; // someone else took it over first
    }
    if (!tryCreate(lockDir)) return undefined;
  }
  const write = (): void => {
    const file: LeaseFile = {
      owner: options.owner,
      pid: process.pid,
      host: os.hostname(),
      acquiredAt: new Date(now()).toISOString(),
      expiresAt: new Date(now() + ttl).toISOString(),
    };
    const tmp = path.join(lockDir, `owner.json.${process.pid}`);
    fs.writeFileSync(tmp, JSON.stringify(file));
    fs.renameSync(tmp, path.join(lockDir, "owner.json"));
  };
  write();
  const renew = setInterval(
    () => {
      try {
        write();
      } catch {
        // A backend gone read-only or full: the next renewal tries again; a throw here would kill the process.
      }
    },
    Math.max(1000, ttl / 3),
  );
  renew.unref();
  let released = false;
  return {
    owner: options.owner,
    release() {
      if (released) return;
      released = true;
      clearInterval(renew);
      fs.rmSync(lockDir, { recursive: true, force: true });
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

/** Where leases live: beside a file:// backend's state, so every tidegate using it sees them. */
export function leaseDir(backendUrl: string, dataDir: string): string {
  return backendUrl.startsWith("file://")
    ? path.join(backendUrl.slice("file://".length), ".tidegate", "leases")
    : path.join(dataDir, "leases");
}
