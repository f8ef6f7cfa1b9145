import type pg from "pg";
import type { IsDead } from "../../../domain/owner";
import type { Lease, LeaseStore, NewWorkRequest, RequestStore, WorkRequest } from "../port";
import { leaseFromRow, NewWorkRequestSchema, requestFromRow, validInput, type Row } from "../rows";
import { count, epochMs, leaseArguments, positiveInteger } from "../validate";
import { acquireLeases } from "./lease-batch";
import { REQUESTS_CHANNEL } from "./listen";
import { transaction } from "./pool";

// Leases and work requests on PostgreSQL: what replicas coordinate through.

/** The advisory lock addRequest holds while it takes a seq ("reqs" in ASCII); see there. */
const REQUEST_LOCK = 0x72657173;
/** A release between our insert and our read can free the key; then we try again, a few times. */
const ACQUIRE_ATTEMPTS = 3;

export function postgresCoordinationStore(pool: pg.Pool): LeaseStore & RequestStore {
  const put = async (
    client: pg.PoolClient,
    key: string,
    owner: string,
    ttlMs: number,
    now: string,
    acquiredAt: string,
  ): Promise<Lease> => {
    const expiresMs = epochMs(now, "now") + ttlMs;
    const { rows } = await client.query<Row>(
      `UPDATE leases SET owner = $2, acquired_at = $3, renewed_at = $4, expires_at = $5, expires_ms = $6
       WHERE key = $1 RETURNING *`,
      [key, owner, acquiredAt, now, new Date(expiresMs).toISOString(), expiresMs],
    );
    return leaseFromRow(rows[0] as Row);
  };

  return {
    async acquire(key: string, owner: string, ttlMs: number, now: string, isDead?: IsDead) {
      leaseArguments(key, owner, ttlMs);
      const nowMs = epochMs(now, "now");
      const expiresMs = nowMs + ttlMs;
      // A free key is taken by the insert (the primary key lets one of two racing inserts win); a
      // held one is decided under its row lock, so two replicas never both take it.
      return transaction(pool, async (client) => {
        for (let attempt = 0; attempt < ACQUIRE_ATTEMPTS; attempt++) {
          const inserted = await client.query<Row>(
            `INSERT INTO leases (key, owner, acquired_at, renewed_at, expires_at, expires_ms)
             VALUES ($1, $2, $3, $3, $4, $5) ON CONFLICT (key) DO NOTHING RETURNING *`,
            [key, owner, now, new Date(expiresMs).toISOString(), expiresMs],
          );
          if (inserted.rows[0]) return leaseFromRow(inserted.rows[0]);
          const { rows } = await client.query<Row>("SELECT * FROM leases WHERE key = $1 FOR UPDATE", [key]);
          const row = rows[0];
          if (!row) continue; // released meanwhile: insert again
          const held = leaseFromRow(row);
          if (held.owner === owner) return put(client, key, owner, ttlMs, now, held.acquiredAt);
          const free = Number(row.expires_ms) <= nowMs || (isDead?.(held.owner, held.renewedAt) ?? false);
          return free ? put(client, key, owner, ttlMs, now, now) : undefined;
        }
        return undefined;
      });
    },

    acquireLeases: (keys: string[], owner: string, ttlMs: number, now: string, isDead?: IsDead) =>
      acquireLeases(pool, keys, owner, ttlMs, now, isDead),

    async renew(key: string, owner: string, ttlMs: number, now: string) {
      leaseArguments(key, owner, ttlMs);
      const expiresMs = epochMs(now, "now") + ttlMs;
      const { rows } = await pool.query<Row>(
        `UPDATE leases SET renewed_at = $3, expires_at = $4, expires_ms = $5
         WHERE key = $1 AND owner = $2 RETURNING *`,
        [key, owner, now, new Date(expiresMs).toISOString(), expiresMs],
      );
      return rows[0] ? leaseFromRow(rows[0]) : undefined;
    },

    async renewLeases(keys: string[], owner: string, ttlMs: number, now: string): Promise<string[]> {
      for (const key of keys) leaseArguments(key, owner, ttlMs);
      const expiresMs = epochMs(now, "now") + ttlMs;
      const { rows } = await pool.query<Row>(
        `UPDATE leases SET renewed_at = $3, expires_at = $4, expires_ms = $5
         WHERE owner = $2 AND key = ANY($1::text[]) RETURNING key`,
        [keys, owner, now, new Date(expiresMs).toISOString(), expiresMs],
      );
      return rows.map((row) => String(row.key));
    },

    async release(key: string, owner: string): Promise<boolean> {
      const { rowCount } = await pool.query("DELETE FROM leases WHERE key = $1 AND owner = $2", [key, owner]);
      return (rowCount ?? 0) > 0;
    },

    async holder(key: string): Promise<Lease | undefined> {
      const { rows } = await pool.query<Row>("SELECT * FROM leases WHERE key = $1", [key]);
      return rows[0] ? leaseFromRow(rows[0]) : undefined;
    },

    async leases(prefix: string | readonly string[]): Promise<Lease[]> {
      // left(), not LIKE: a prefix may hold % or _.
      const { rows } = await pool.query<Row>(
        `SELECT * FROM leases WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) AS p WHERE left(key, length(p)) = p)
         ORDER BY key COLLATE "C"`,
        [typeof prefix === "string" ? [prefix] : prefix],
      );
      return rows.map(leaseFromRow);
    },

    async addRequest(request: NewWorkRequest): Promise<number> {
      const r = validInput(NewWorkRequestSchema, request, "work request");
      // Seqs become visible in the order they are taken: without the lock a writer could commit seq
      // 6 before another commits 5, and a reader that saw 6 would never read 5.
      return transaction(pool, async (client) => {
        await client.query("SELECT pg_advisory_xact_lock($1)", [REQUEST_LOCK]);
        const { rows } = await client.query<Row>(
          `INSERT INTO requests (environment, reason, priority, actor, look, at, at_ms)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq`,
          [r.environment, r.reason, r.priority, r.actor ?? null, r.look ?? null, r.at, epochMs(r.at, "at")],
        );
        const seq = Number(rows[0]?.seq);
        // Sent at the commit, so a replica woken by it reads the row; only the seq, never the request.
        await client.query("SELECT pg_notify($1, $2)", [REQUESTS_CHANNEL, String(seq)]);
        return seq;
      });
    },

    async requestsSince(seq: number, limit?: number): Promise<WorkRequest[]> {
      const max = limit === undefined ? null : positiveInteger(limit, "limit");
      const { rows } = await pool.query<Row>("SELECT * FROM requests WHERE seq > $1 ORDER BY seq LIMIT $2", [
        count(seq, "seq"),
        max,
      ]);
      return rows.map(requestFromRow);
    },

    async pruneRequests(before: string): Promise<number> {
      const { rowCount } = await pool.query("DELETE FROM requests WHERE at_ms < $1", [
        epochMs(before, "before"),
      ]);
      return rowCount ?? 0;
    },
  };
}
