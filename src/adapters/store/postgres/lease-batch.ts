import type pg from "pg";
import type { IsDead } from "../../../domain/owner";
import type { Row } from "../rows";
import { epochMs, leaseArguments } from "../validate";
import { transaction } from "./pool";

// Many leases taken in one transaction (a replica claiming its share): acquire's semantics per key.

/** A release between our insert and our read can free a key; then we insert it again, a few times. */
const ATTEMPTS = 3;

export async function acquireLeases(
  pool: pg.Pool,
  keys: string[],
  owner: string,
  ttlMs: number,
  now: string,
  isDead?: IsDead,
): Promise<string[]> {
  for (const key of keys) leaseArguments(key, owner, ttlMs);
  const nowMs = epochMs(now, "now");
  const expiresMs = nowMs + ttlMs;
  const expiresAt = new Date(expiresMs).toISOString();
  if (keys.length === 0) return [];
  const taken = new Set<string>();
  await transaction(pool, async (client) => {
    let pending = [...new Set(keys)];
    for (let attempt = 0; attempt < ATTEMPTS && pending.length > 0; attempt++) {
      // Free keys are taken by the insert. Rows are inserted, then locked, in key order, so two
      // replicas claiming overlapping keys wait on each other in one order and never deadlock.
      const inserted = await client.query<Row>(
        `INSERT INTO leases (key, owner, acquired_at, renewed_at, expires_at, expires_ms)
         SELECT key, $2, $3, $3, $4, $5 FROM unnest($1::text[]) AS key ORDER BY key COLLATE "C"
         ON CONFLICT (key) DO NOTHING RETURNING key`,
        [pending, owner, now, expiresAt, expiresMs],
      );
      for (const row of inserted.rows) taken.add(String(row.key));
      const held = pending.filter((key) => !taken.has(key));
      if (held.length === 0) break;
      // Held keys are decided under their row locks: the holder's own are renewed, expired or dead
      // holders' taken over, live holders' left alone.
      const { rows } = await client.query<Row>(
        `SELECT key, owner, renewed_at, expires_ms FROM leases WHERE key = ANY($1::text[])
         ORDER BY key COLLATE "C" FOR UPDATE`,
        [held],
      );
      const take = rows
        .filter(
          (row) =>
            row.owner === owner ||
            Number(row.expires_ms) <= nowMs ||
            (isDead?.(String(row.owner), String(row.renewed_at)) ?? false),
        )
        .map((row) => String(row.key));
      if (take.length > 0)
        await client.query(
          `UPDATE leases SET acquired_at = CASE WHEN owner = $2 THEN acquired_at ELSE $3 END,
             owner = $2, renewed_at = $3, expires_at = $4, expires_ms = $5
           WHERE key = ANY($1::text[])`,
          [take, owner, now, expiresAt, expiresMs],
        );
      for (const key of take) taken.add(key);
      const found = new Set(rows.map((row) => String(row.key)));
      pending = held.filter((key) => !found.has(key)); // released meanwhile: insert again
    }
  });
  return keys.filter((key) => taken.has(key));
}
