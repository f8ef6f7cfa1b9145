import { type Lease as StackLease, renewedLease } from "../pulumi/lease";
import type { IsDead, LeaseStore, OwnerId } from "./port";

// tidegate's lease on a stack, held in a shared store (PostgreSQL): every replica on the store sees
// it, whatever the backend, where a lease file beside the state is seen only by hosts sharing it.

/** Held this long without a renewal, the lease is free for anyone (a holder on another host died). */
export const STACK_LEASE_TTL_MS = 120_000;

/** The lease's key: the backend without its query (the same bucket is the same state) and the stack. */
export function stackLeaseKey(backendUrl: string, stack: string): string {
  return `stack:${backendUrl.replace(/\?.*$/, "").replace(/\/+$/, "")}/${stack}`;
}

/**
 * Takes the stack's lease in the store for `owner`, renewed while held; undefined when another live
 * holder has it. A failed renewal is reported and tried again: the update it covers goes on.
 */
export async function acquireStoreLease(
  store: Pick<LeaseStore, "acquire" | "renew" | "release">,
  key: string,
  options: { owner: OwnerId; isDead?: IsDead; ttlMs?: number; onRenewFailed?: (error: unknown) => void },
): Promise<StackLease | undefined> {
  const ttl = options.ttlMs ?? STACK_LEASE_TTL_MS;
  const taken = await store.acquire(key, options.owner, ttl, new Date().toISOString(), options.isDead);
  if (!taken) return undefined;
  return renewedLease(
    options.owner,
    ttl,
    () =>
      void store
        .renew(key, options.owner, ttl, new Date().toISOString())
        .then((lease) => {
          if (!lease) options.onRenewFailed?.(new Error(`the lease ${key} was taken over`));
        })
        .catch((error: unknown) => options.onRenewFailed?.(error)),
    // A release that fails leaves the lease to expire: the next holder waits its TTL at most.
    () => void store.release(key, options.owner).catch((error: unknown) => options.onRenewFailed?.(error)),
  );
}
