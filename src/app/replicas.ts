import type { Lease, LeaseStore } from "../adapters/store/port";
import { parseOwnerId } from "../domain/owner";

// The replicas (`tidegate run` processes) on one store, as the leases they hold say: each holds
// `replica:<id>` while it beats, and `owner:<env>` for each environment it owns (see
// src/daemon/ownership.ts). What `tidegate status` and the dashboard show.

export const REPLICA_LEASE_PREFIX = "replica:";
export const OWNER_LEASE_PREFIX = "owner:";

export interface ReplicaInfo {
  id: string;
  /** "<host> pid <pid>", or the id when it names no process. */
  name: string;
  /** ISO 8601: its last heartbeat. */
  lastHeartbeat: string;
  /** Whether its lease is still current (a replica that died shows gone until forgotten). */
  alive: boolean;
  /** The environments it owns now. */
  owns: string[];
}

export interface ReplicasView {
  /** Live ones first, each by name. */
  replicas: ReplicaInfo[];
  /** Each environment's live owner (a replica id). */
  owners: Map<string, string>;
}

/** "<host> pid <pid>" for a replica id that names its process; the id itself otherwise. */
export function replicaName(id: string): string {
  const parts = parseOwnerId(id);
  return parts ? `${parts.host} pid ${parts.pid}` : id;
}

/** The replicas as `tidegate status` lists them under its table; nothing when none ever ran. */
export function replicaLines(
  view: ReplicasView,
  now: Date,
  age: (iso: string, now: Date) => string,
): string[] {
  if (view.replicas.length === 0) return [];
  const live = view.replicas.filter((r) => r.alive).length;
  return [
    `Replicas: ${live} live`,
    ...view.replicas.map((r) =>
      r.alive
        ? `  ${r.name}: heartbeat ${age(r.lastHeartbeat, now)}, owns ${r.owns.length > 0 ? r.owns.join(", ") : "nothing"}`
        : `  ${r.name}: gone (last heartbeat ${age(r.lastHeartbeat, now)})`,
    ),
  ];
}

const current = (lease: Lease, now: Date) => Date.parse(lease.expiresAt) > now.getTime();

/** The replicas and who owns what, at `now`. */
export async function replicasView(store: Pick<LeaseStore, "leases">, now: Date): Promise<ReplicasView> {
  const owners = new Map<string, string>();
  for (const lease of await store.leases(OWNER_LEASE_PREFIX))
    if (current(lease, now)) owners.set(lease.key.slice(OWNER_LEASE_PREFIX.length), lease.owner);
  const replicas = (await store.leases(REPLICA_LEASE_PREFIX)).map((lease): ReplicaInfo => ({
    id: lease.owner,
    name: replicaName(lease.owner),
    lastHeartbeat: lease.renewedAt,
    alive: current(lease, now),
    owns: [...owners].filter(([, owner]) => owner === lease.owner).map(([env]) => env),
  }));
  replicas.sort((a, b) => Number(b.alive) - Number(a.alive) || a.name.localeCompare(b.name));
  return { replicas, owners };
}
