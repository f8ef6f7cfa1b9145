import { Pool } from "pg";
import { describe, expect, it } from "vitest";
import { AUDIT_TABLE, PostgresAuditLog } from "../../src/adapters/audit";
import { openAuditLog } from "../../src/compose";
import { postgresForFile } from "../helpers/postgres";
import { auditContract } from "./audit";

// A real PostgreSQL server for the file, a new database per test; each handle has its own pool,
// standing for a replica of its own.
const pg = postgresForFile();

auditContract("postgres", async () => {
  const url = new URL(await pg.freshDatabase("audit"));
  url.password = pg.server().password;
  const pools: Pool[] = [];
  const pool = () => {
    const opened = new Pool({ connectionString: url.href, max: 3 });
    // An idle connection the server ends (at stop) is an error on the pool, not an uncaught one.
    opened.on("error", () => undefined);
    pools.push(opened);
    return opened;
  };
  const admin = pool();
  const rows = async () =>
    (await admin.query<{ seq: string; entry: string }>(`SELECT seq, entry FROM ${AUDIT_TABLE} ORDER BY seq`))
      .rows;
  return {
    open: (options) => new PostgresAuditLog(pool(), options),
    stored: async () =>
      (await admin.query(`SELECT to_regclass('${AUDIT_TABLE}') AS t`)).rows[0].t
        ? (await rows()).map((row) => row.entry)
        : [],
    tamper: async (seq, edit) => {
      const row = (await rows()).find((r) => Number(r.seq) === seq);
      if (!row) throw new Error(`no seq ${seq} to tamper with`);
      await admin.query(`UPDATE ${AUDIT_TABLE} SET entry = $2 WHERE seq = $1`, [seq, edit(row.entry)]);
    },
    removeLast: async () => {
      await admin.query(`DELETE FROM ${AUDIT_TABLE} WHERE seq = (SELECT max(seq) FROM ${AUDIT_TABLE})`);
    },
    cleanup: async () => {
      await Promise.all(pools.map((p) => p.end()));
    },
  };
});

describe("openAuditLog with a pool", () => {
  it("gives the PostgreSQL log, redacting the secrets the engine knows", async () => {
    const url = new URL(await pg.server().createDatabase("audit_compose"));
    url.password = pg.server().password;
    const pool = new Pool({ connectionString: url.href, max: 2 });
    pool.on("error", () => undefined);
    try {
      const log = openAuditLog("/nonexistent", { pool, secrets: ["s3cret-token"] });
      await log.append({ actor: "ada", action: "failure", reason: "bad s3cret-token" });
      const rows = await pool.query<{ entry: string }>(`SELECT entry FROM ${AUDIT_TABLE}`);
      expect(rows.rows).toHaveLength(1);
      expect(rows.rows[0]?.entry).not.toContain("s3cret-token");
      expect(await log.verify()).toMatchObject({ ok: true, entries: 1 });
    } finally {
      await pool.end();
    }
  });
});
