import type { Pool, PoolClient } from "pg";

import { type AuditFilter, nextEntry, redactorOf, selectEntries, storedContent } from "./content";
import { type AuditEntry, type AuditInput, formatLine, parseLine } from "./entry";
import type { AnchorRead } from "./files";
import { AuditLogError } from "./log";
import { chainHead, verifyLines, type VerifyResult } from "./verify";

// The audit log in PostgreSQL, for replicas sharing one database: the same entries and hash chain
// as the file log, one row per entry (its line, exactly as the file would hold it) and a head row
// (the file log's anchor). Every append, from any process, holds one transaction-scoped advisory
// lock while it reads the head and inserts the next entry, so all writers build ONE chain; the
// primary key on seq refuses a fork should anything bypass the lock.

export interface PostgresAuditLogOptions {
  now?: () => Date;
  /** Applied to `reason` and every string in `details` (after URL credentials are stripped). */
  redact?: (text: string) => string;
}

export const AUDIT_TABLE = "audit_log";
export const AUDIT_HEAD_TABLE = "audit_head";

/** The advisory lock of the audit chain: "tg:audit" in ASCII, as a signed 64-bit integer. */
export const AUDIT_LOCK_KEY = Buffer.from("tg:audit", "ascii").readBigInt64BE().toString();

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS ${AUDIT_TABLE} (
    seq bigint PRIMARY KEY CHECK (seq >= 1),
    entry text NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS ${AUDIT_HEAD_TABLE} (
    id smallint PRIMARY KEY CHECK (id = 1),
    seq bigint NOT NULL,
    hash text NOT NULL,
    time text NOT NULL
  )`,
];

const HEAD_NAME = `the ${AUDIT_HEAD_TABLE} row`;

export class PostgresAuditLog {
  /** Where the log is, for messages (`tidegate audit verify` prints it); never a URL or password. */
  readonly file = `PostgreSQL table ${AUDIT_TABLE}`;
  private readonly now: () => Date;
  private readonly redact: (text: string) => string;
  private schema: Promise<void> | undefined;
  /** This process's appends, one after another, so that call order is chain order. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly pool: Pool,
    options: PostgresAuditLogOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.redact = redactorOf(options.redact);
  }

  /**
   * Records one entry and returns it as written. Appends from this process land in the order they
   * are called; appends from other processes wait on the chain's lock. Rejects with AuditLogError,
   * writing nothing, when the chain's end is damaged or does not match its head row.
   */
  async append(input: AuditInput): Promise<AuditEntry> {
    const content = storedContent(input, this.redact);
    const appended = this.queue.then(() =>
      this.transaction(async (client) => {
        await client.query("SELECT pg_advisory_xact_lock($1)", [AUDIT_LOCK_KEY]);
        const last = await client.query<{ entry: string }>(
          `SELECT entry FROM ${AUDIT_TABLE} ORDER BY seq DESC LIMIT 1`,
        );
        const head = chainHead(last.rows[0]?.entry, await readHead(client), HEAD_NAME);
        if (!head.ok) throw new AuditLogError(this.file, head.problem);
        const entry = nextEntry(head.last, content, this.now());
        await client.query(`INSERT INTO ${AUDIT_TABLE} (seq, entry) VALUES ($1, $2)`, [
          entry.seq,
          formatLine(entry).trimEnd(),
        ]);
        await client.query(
          `INSERT INTO ${AUDIT_HEAD_TABLE} (id, seq, hash, time) VALUES (1, $1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash, time = EXCLUDED.time`,
          [entry.seq, entry.hash, entry.time],
        );
        return entry;
      }),
    );
    this.queue = appended.catch(() => undefined);
    return appended;
  }

  /** The entries that match, oldest first. Rows that are not entries are skipped: `verify` names them. */
  async entries(filter: AuditFilter = {}): Promise<AuditEntry[]> {
    const { lines } = await this.read();
    const all = lines.flatMap((line) => {
      const parsed = parseLine(line);
      return parsed.ok ? [parsed.entry] : [];
    });
    return selectEntries(all, filter);
  }

  /** Checks every entry and the head row, as the file log checks its lines and anchor. */
  async verify(): Promise<VerifyResult> {
    const { lines, anchor } = await this.read();
    return verifyLines(lines, anchor, HEAD_NAME);
  }

  /** The rows and the head from one snapshot: an append in between cannot look like damage. */
  private async read(): Promise<{ lines: string[]; anchor: AnchorRead }> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      try {
        const exists = await client.query<{ table: string | null }>("SELECT to_regclass($1) AS table", [
          AUDIT_TABLE,
        ]);
        // Reading creates nothing: a database without the table holds an empty log.
        if (exists.rows[0]?.table == null) return { lines: [], anchor: { kind: "missing" } };
        const rows = await client.query<{ entry: string }>(`SELECT entry FROM ${AUDIT_TABLE} ORDER BY seq`);
        return { lines: rows.rows.map((row) => row.entry), anchor: await readHead(client) };
      } finally {
        await client.query("COMMIT");
      }
    } finally {
      client.release();
    }
  }

  private async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    await this.ensureSchema();
    return inTransaction(this.pool, work);
  }

  /** Creates the tables once, under the chain's lock: concurrent CREATE IF NOT EXISTS can collide. */
  private ensureSchema(): Promise<void> {
    this.schema ??= inTransaction(this.pool, async (client) => {
      await client.query("SELECT pg_advisory_xact_lock($1)", [AUDIT_LOCK_KEY]);
      for (const statement of SCHEMA) await client.query(statement);
    }).catch((error: unknown) => {
      this.schema = undefined; // tried again on the next append
      throw error;
    });
    return this.schema;
  }
}

async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    client.release();
    return result;
  } catch (error) {
    // A connection that cannot even roll back is not put back in the pool.
    const rolledBack = await client.query("ROLLBACK").then(
      () => true,
      () => false,
    );
    client.release(!rolledBack);
    throw error;
  }
}

/** The head row as the anchor the chain is checked against. */
async function readHead(client: PoolClient): Promise<AnchorRead> {
  const head = await client.query<{ seq: string; hash: string; time: string }>(
    `SELECT seq::text AS seq, hash, time FROM ${AUDIT_HEAD_TABLE} WHERE id = 1`,
  );
  const row = head.rows[0];
  if (!row) return { kind: "missing" };
  if (!/^[0-9a-f]{64}$/.test(row.hash)) {
    return { kind: "bad", problem: `${HEAD_NAME} is not a head: its hash is not a sha256 in hex` };
  }
  return { kind: "ok", anchor: { seq: Number(row.seq), hash: row.hash, time: row.time } };
}
