// Who owns a run or a lease: one tidegate process, named so that another process can tell whether
// it is still alive. A pid alone is not enough (pids are reused), so the id also carries the
// process's start time; a random suffix keeps two ids apart even when both of those repeat.

/** `<host>/<pid>/<start>/<suffix>`: a process's id, as written to the store. */
export type OwnerId = string;

export interface OwnerParts {
  host: string;
  pid: number;
  /** The process's start time as the host reports it (opaque); "" when unknown. */
  start: string;
  suffix: string;
}

export function formatOwnerId(parts: OwnerParts): OwnerId {
  // A host name never holds "/"; the other parts are ours.
  return [parts.host.replace(/\//g, "_"), String(parts.pid), parts.start, parts.suffix].join("/");
}

/** The parts of an owner id; undefined for anything else (an id from an older tidegate, a test's name). */
export function parseOwnerId(id: string | undefined): OwnerParts | undefined {
  const parts = id?.split("/");
  if (parts?.length !== 4) return undefined;
  const [host, pid, start, suffix] = parts as [string, string, string, string];
  if (host === "" || !/^[1-9]\d*$/.test(pid) || suffix === "") return undefined;
  return { host, pid: Number(pid), start, suffix };
}

/** What the deadness decision needs to know about this host and the clock. */
export interface LivenessProbe {
  /** This host's name, as owner ids carry it. */
  host: string;
  /** Epoch milliseconds. */
  now: number;
  /** A heartbeat older than this means an owner on another host is dead. */
  ttlMs: number;
  /** Whether a process with this pid exists on this host. */
  pidAlive(pid: number): boolean;
  /** The start time of the process with this pid on this host; undefined when it cannot be read. */
  startOf(pid: number): string | undefined;
}

/** Decides whether the owner of a run or lease is dead, from its id and its last heartbeat. */
export type IsDead = (owner: string | undefined, heartbeatAt: string | undefined) => boolean;

/**
 * An owner on this host is dead when its pid is gone, or the pid now belongs to a process started
 * at another time (the pid was reused). An owner elsewhere (or one whose id does not say where) is
 * dead when its heartbeat is older than the TTL, or missing.
 */
export function isOwnerDead(
  owner: string | undefined,
  heartbeatAt: string | undefined,
  probe: LivenessProbe,
): boolean {
  const parts = parseOwnerId(owner);
  if (parts && parts.host === probe.host.replace(/\//g, "_")) {
    if (!probe.pidAlive(parts.pid)) return true;
    const start = probe.startOf(parts.pid);
    return parts.start !== "" && start !== undefined && start !== parts.start;
  }
  if (heartbeatAt === undefined) return true;
  const beat = Date.parse(heartbeatAt);
  return Number.isNaN(beat) || probe.now - beat > probe.ttlMs;
}
