import type pg from "pg";
import { newerSchemaError, StoreError } from "../errors";
import { PG_MIGRATIONS } from "./migrations";
import { transaction } from "./pool";

/** The advisory lock every replica takes to migrate: an arbitrary constant ("tide" in ASCII). */
export const MIGRATION_LOCK = 0x74696465;

/**
 * Brings the schema up to date in one transaction under an advisory lock, so several replicas opening
 * a new database at once migrate it once (the others wait, then find nothing left to do). Returns the
 * versions it applied.
 */
export async function migrate(
  pool: pg.Pool,
  now: () => Date,
  migrations: readonly string[] = PG_MIGRATIONS,
): Promise<number[]> {
  return transaction(pool, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await client.query(
      "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
    );
    const current = await schemaVersion(client);
    if (current > migrations.length) throw newerSchemaError(current, migrations.length);
    const applied: number[] = [];
    for (const [i, migration] of migrations.slice(current).entries()) {
      const version = current + i + 1;
      await client.query(migration);
      await client.query("INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)", [
        version,
        now().toISOString(),
      ]);
      applied.push(version);
    }
    return applied;
  });
}

/**
 * For a process that only reads (status, reports): a schema behind this code's is refused, never
 * upgraded from here, since a newer CLI reading a shared store would otherwise migrate it under the
 * replicas running the older version. A database without the schema has no such replica: it gets
 * the schema, as a first replica would give it.
 */
export async function migrateOnlyEmpty(
  pool: pg.Pool,
  now: () => Date,
  migrations: readonly string[] = PG_MIGRATIONS,
): Promise<void> {
  const present = await pool.query<{ present: boolean }>(
    "SELECT to_regclass('schema_version') IS NOT NULL AS present",
  );
  const current = present.rows[0]?.present ? await schemaVersion(pool) : 0;
  if (current === 0) {
    await migrate(pool, now, migrations);
    return;
  }
  if (current > migrations.length) throw newerSchemaError(current, migrations.length);
  if (current < migrations.length) {
    throw new StoreError(
      "older-schema",
      `the store's schema is version ${current}; this tidegate reads version ${migrations.length}, and reading does not migrate a schema other replicas may be using`,
    );
  }
}

/** The newest migration applied (0 for none). */
async function schemaVersion(db: Pick<pg.Pool, "query">): Promise<number> {
  const { rows } = await db.query<{ version: number }>(
    "SELECT coalesce(max(version), 0)::integer AS version FROM schema_version",
  );
  return Number(rows[0]?.version ?? 0);
}
