import type { IsDead, Lease, LeaseStore, OwnerId } from "../adapters/store/port";
import { OWNER_LEASE_PREFIX as OWNER_PREFIX, REPLICA_LEASE_PREFIX as REPLICA_PREFIX } from "../app/replicas";

// Several `tidegate run` processes (replicas) on one store share the environments. A replica says it
// is alive by holding the lease `replica:<id>`, and owns environment E by holding `owner:E`; both are
// renewed each heartbeat. Each heartbeat it takes free environments up to its fair share and, when
// another replica has less than its share and nothing is free, hands one over, so a new replica gets
// work. A replica that dies leaves its leases to expire (at once on its own host: its pid is gone); one
// that stops releases them. The per-run environment lease stays the guard against two writers:
// ownership only spreads the work.

/** What one replica sees at a heartbeat. */
export interface OwnershipView {
  /** This replica. */
  me: OwnerId;
  /** The environments to share, in the order they should be taken. */
  environments: readonly string[];
  /** The live replicas (this one included, whatever the store says). */
  replicas: readonly OwnerId[];
  /** Each environment's live owner; an environment missing here (or owned by a replica not live) is free. */
  owners: ReadonlyMap<string, OwnerId>;
  /**
   * Where in `environments` to start taking free ones (wrapping round); 0 when absent. Replicas
   * starting at different places claim different environments instead of racing for the same.
   */
  claimFrom?: number;
}

export interface OwnershipPlan {
  /** Free environments to take, in order. */
  claim: string[];
  /** Own environments to hand over. */
  release: string[];
}

/**
 * The fair-share decision: with E environments and R live replicas each replica should own
 * floor(E/R) or ceil(E/R). Free environments are taken up to ceil(E/R), or only up to floor(E/R)
 * while another replica is below floor(E/R) (that one takes the rest). When nothing is free and some
 * replica is below floor(E/R), a replica above it hands one environment over per heartbeat (one at a
 * time: several may do so at once).
 */
export function planOwnership(view: OwnershipView): OwnershipPlan {
  const replicas = new Set(view.replicas);
  replicas.add(view.me);
  const count = new Map<OwnerId, number>([...replicas].map((r) => [r, 0]));
  const mine: string[] = [];
  const before: string[] = [];
  const free: string[] = [];
  const from = view.claimFrom ?? 0;
  for (const [index, env] of view.environments.entries()) {
    const owner = view.owners.get(env);
    if (owner === undefined || !replicas.has(owner)) (index < from ? before : free).push(env);
    else {
      count.set(owner, (count.get(owner) ?? 0) + 1);
      if (owner === view.me) mine.push(env);
    }
  }
  free.push(...before);
  const total = view.environments.length;
  const floor = Math.floor(total / replicas.size);
  const ceil = Math.ceil(total / replicas.size);
  const othersBelow = [...count].some(([r, n]) => r !== view.me && n < floor);

  if (free.length > 0) {
    const target = othersBelow && mine.length >= floor ? floor : ceil;
    return { claim: free.slice(0, Math.max(0, target - mine.length)), release: [] };
  }
  if (othersBelow && mine.length > floor) return { claim: [], release: mine.slice(-1) };
  return { claim: [], release: [] };
}

/**
 * Where a replica starts claiming: its rank among the live replicas spreads them evenly over the
 * environments, so replicas starting together claim disjoint slices.
 */
export function claimStart(me: OwnerId, replicas: readonly OwnerId[], total: number): number {
  const ranked = [...new Set([...replicas, me])].sort();
  return Math.floor((ranked.indexOf(me) * total) / ranked.length);
}

/** A lease is live when it has not expired and its holder is not known dead. */
function live(lease: Lease, nowMs: number, isDead: IsDead): boolean {
  return Date.parse(lease.expiresAt) > nowMs && !isDead(lease.owner, lease.renewedAt);
}

/**
 * isDead asked once per holder and heartbeat time within one heartbeat: on one host each answer
 * reads /proc, and a replica's hundreds of leases share one holder and renewal time.
 */
function oncePerHolder(isDead: IsDead): IsDead {
  const answers = new Map<string, boolean>();
  return (owner, heartbeatAt) => {
    const key = `${owner ?? ""}\n${heartbeatAt ?? ""}`;
    let dead = answers.get(key);
    if (dead === undefined) answers.set(key, (dead = isDead(owner, heartbeatAt)));
    return dead;
  };
}

/** Replica leases expired longer than this are removed (until then status shows them as gone). */
const FORGET_REPLICA_MS = 60 * 60_000;

export interface OwnershipOptions {
  store: Pick<LeaseStore, "acquire" | "acquireLeases" | "renewLeases" | "release" | "leases">;
  /** This replica's id (see processOwner). */
  me: OwnerId;
  environments: readonly string[];
  ttlMs: number;
  heartbeatMs: number;
  /** Whether a lease's holder is dead (this host: its pid). */
  isDead: IsDead;
  /** Environments this replica took (look at them now: nobody else will). */
  onGained?: (environments: string[]) => void;
  /** Environments it handed over or lost (their waiting work is the new owner's). */
  onLost?: (environments: string[]) => void;
  /** A heartbeat failed (the store did not answer); the next one tries again. */
  onError?: (error: unknown) => void;
  /** The wall clock, epoch ms. */
  clock?: () => number;
}

/** One replica's ownership of environments, kept up by a heartbeat. */
export class Ownership {
  private readonly owned = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: OwnershipOptions) {}

  get me(): OwnerId {
    return this.options.me;
  }

  /** Whether this replica owns the environment now. */
  owns(environment: string): boolean {
    return this.owned.has(environment);
  }

  /** What this replica owns, in the environments' order. */
  mine(): string[] {
    return this.options.environments.filter((env) => this.owned.has(env));
  }

  /** The first heartbeat (so the first work sees what this replica owns), then one every heartbeatMs. */
  async start(): Promise<void> {
    await this.tick();
    if (this.stopped || this.timer) return;
    this.timer = setInterval(() => void this.tick().catch(() => undefined), this.options.heartbeatMs);
    this.timer.unref();
  }

  /** One heartbeat; a heartbeat still running is waited for rather than overlapped. */
  tick(): Promise<void> {
    this.beating ??= this.beat()
      .catch((error: unknown) => this.options.onError?.(error))
      .finally(() => (this.beating = undefined));
    return this.beating;
  }

  /** Stops the heartbeat and hands over everything at once: the others take it at their next one. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.beating;
    const { store, me } = this.options;
    const lost = this.mine();
    this.owned.clear();
    await Promise.all(lost.map((env) => store.release(OWNER_PREFIX + env, me)));
    await store.release(REPLICA_PREFIX + me, me);
    if (lost.length > 0) this.options.onLost?.(lost);
  }

  private async beat(): Promise<void> {
    if (this.stopped) return;
    const { store, me, ttlMs, environments } = this.options;
    const isDead = oncePerHolder(this.options.isDead);
    const nowMs = (this.options.clock ?? Date.now)();
    const now = new Date(nowMs).toISOString();

    // One write renews this replica's lease and everything it owns; its own lease is taken only when
    // that did not renew it (its first heartbeat, or after it expired).
    const lost: string[] = [];
    const mine = this.mine();
    const replicaKey = REPLICA_PREFIX + me;
    const renewed = new Set(
      await store.renewLeases([replicaKey, ...mine.map((env) => OWNER_PREFIX + env)], me, ttlMs, now),
    );
    if (!renewed.has(replicaKey)) await store.acquire(replicaKey, me, ttlMs, now);
    for (const env of mine) {
      if (renewed.has(OWNER_PREFIX + env)) continue;
      this.owned.delete(env);
      lost.push(env);
    }

    const both = await store.leases([REPLICA_PREFIX, OWNER_PREFIX]);
    const replicaLeases = both.filter((l) => l.key.startsWith(REPLICA_PREFIX));
    const ownerLeases = both.filter((l) => l.key.startsWith(OWNER_PREFIX));
    const replicas = replicaLeases.filter((l) => live(l, nowMs, isDead)).map((l) => l.owner);
    const owners = new Map<string, OwnerId>();
    for (const lease of ownerLeases)
      if (live(lease, nowMs, isDead)) owners.set(lease.key.slice(OWNER_PREFIX.length), lease.owner);
    for (const env of this.owned) owners.set(env, me);

    const claimFrom = claimStart(me, replicas, environments.length);
    const plan = planOwnership({ me, environments, replicas, owners, claimFrom });
    for (const env of plan.release) {
      this.owned.delete(env);
      lost.push(env);
      await store.release(OWNER_PREFIX + env, me);
    }
    // The whole claim in one transaction; what it took is ours even if stop() came meanwhile (stop
    // waits for this heartbeat, then releases it).
    const taken =
      plan.claim.length > 0 && !this.stopped
        ? new Set(
            await store.acquireLeases(
              plan.claim.map((env) => OWNER_PREFIX + env),
              me,
              ttlMs,
              now,
              isDead,
            ),
          )
        : new Set<string>();
    const gained = environments.filter((env) => taken.has(OWNER_PREFIX + env));
    for (const env of gained) this.owned.add(env);

    for (const lease of replicaLeases)
      if (nowMs - Date.parse(lease.expiresAt) > FORGET_REPLICA_MS)
        await store.release(lease.key, lease.owner);

    if (lost.length > 0) this.options.onLost?.(lost);
    if (gained.length > 0) this.options.onGained?.(gained);
  }
}
